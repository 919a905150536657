import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createOutput, runCommand } from '../../protocol/command-line.js';
import { UsageError } from '../cli-errors.js';
import { adminClientFor, withAdminOptions, type AdminOptions } from './admin-options.js';

interface LegacyClientsAnswer {
  enabled: boolean;
  allowUnverified: boolean;
  clients: { total: number; approved: number; revoked: number; verifying: number; unverified: number };
  siteKey: { keyId: string; fingerprint: string; pem: string };
}

/**
 * `steward site legacy-clients status|enable|disable|token|key` (docs/legacy-client.md). Legacy
 * clients are off by default; the setting lives in the site database and changes at once, audited.
 */
export function registerLegacyClientCommands(program: Command): void {
  const site = program.commands.find((command) => command.name() === 'site') ?? program.command('site');
  const legacy = site
    .command('legacy-clients')
    .description('legacy clients: the POSIX shell client for machines that cannot run the agent');

  withAdminOptions(
    legacy.command('status').description('whether legacy clients are enabled, and how many'),
  ).action((options: AdminOptions) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const answer = await (await adminClientFor(options)).get<LegacyClientsAnswer>('/legacy-clients');
      const { pem: _pem, ...siteKey } = answer.siteKey;
      out.result({ ...answer, siteKey }, () => printStatus((text) => out.line(text), answer));
    }),
  );

  withAdminOptions(
    legacy
      .command('enable')
      .description('accept legacy clients (they receive only deployments whose list they can verify)')
      .option(
        '--allow-unverified',
        'also send deployments to clients without openssl that asked to run unverified (audited)',
      ),
  ).action((options: AdminOptions & { allowUnverified?: boolean }) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const answer = await (
        await adminClientFor(options)
      ).request<{ enabled: boolean; allowUnverified: boolean }>('PUT', '/legacy-clients/settings', {
        enabled: true,
        allowUnverified: options.allowUnverified === true,
      });
      out.result(answer, () =>
        out.line(
          `Legacy clients are enabled${answer.allowUnverified ? '; clients that cannot check signatures get deployments too' : ''}.`,
        ),
      );
    }),
  );

  withAdminOptions(legacy.command('disable').description('refuse every legacy client request')).action(
    (options: AdminOptions) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const answer = await (
          await adminClientFor(options)
        ).request<{ enabled: boolean; allowUnverified: boolean }>('PUT', '/legacy-clients/settings', {
          enabled: false,
          allowUnverified: false,
        });
        out.result(answer, () => out.line('Legacy clients are disabled.'));
      }),
  );

  withAdminOptions(
    legacy
      .command('token')
      .description('create a legacy client token (a client that registers with it is approved)')
      .option('--uses <n>', 'how many clients may register with it', '1')
      .option('--valid-hours <hours>', 'how long it is valid', '24')
      .option('--description <text>', 'what it is for', ''),
  ).action((options: AdminOptions & { uses: string; validHours: string; description: string }) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const uses = Number(options.uses);
      const validHours = Number(options.validHours);
      if (!Number.isInteger(uses) || uses < 1) throw new UsageError('--uses is a whole number from 1');
      if (!Number.isInteger(validHours) || validHours < 1)
        throw new UsageError('--valid-hours is a whole number from 1');
      const token = await (
        await adminClientFor(options)
      ).post<{ id: string; token: string; expiresAt: string; uses: number }>('/legacy-clients/tokens', {
        uses,
        validHours,
        description: options.description,
      });
      out.result(token, () => {
        out.line(`Legacy client token (${token.uses} use(s), valid until ${token.expiresAt}):`);
        out.line(token.token);
      });
    }),
  );

  withAdminOptions(
    legacy
      .command('key')
      .description("the site's public key as PEM: pin it on each legacy client at install (--site-key)")
      .option('--out <file>', 'write the PEM to this file instead of printing it'),
  ).action((options: AdminOptions & { out?: string }) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const { siteKey } = await (await adminClientFor(options)).get<LegacyClientsAnswer>('/legacy-clients');
      if (options.out !== undefined) await writeFile(resolve(options.out), siteKey.pem, { mode: 0o644 });
      out.result(siteKey, () => {
        if (options.out === undefined) process.stdout.write(siteKey.pem);
        else out.line(`Site key ${siteKey.fingerprint} written to ${resolve(options.out)}`);
      });
    }),
  );
}

function printStatus(line: (text: string) => void, answer: LegacyClientsAnswer): void {
  line(`Legacy clients: ${answer.enabled ? 'enabled' : 'disabled'}`);
  line(`  unverified clients get deployments: ${answer.allowUnverified ? 'yes' : 'no'}`);
  const c = answer.clients;
  line(
    `  clients: ${c.total} (${c.approved} approved, ${c.revoked} revoked; ${c.verifying} check signatures, ${c.unverified} cannot)`,
  );
  line(
    `  site key to pin: ${answer.siteKey.fingerprint} (steward site legacy-clients key --out site-key.pem)`,
  );
}
