import { resolve } from 'node:path';
import type { Command } from 'commander';
import { addSettingOptions, resolveSettings } from '../../platform/settings.js';
import { createOutput, runCommand, type Output } from '../../protocol/command-line.js';
import { siteSystemNameSchema, type SiteSystemRole } from '../../protocol/index.js';
import { installSiteSystemHere } from '../../site/site-systems/install-here.js';
import {
  managementPointSettings,
  managementPointSettingsPrefix,
} from '../../roles/management-point/standalone/standalone-settings.js';
import { startStandaloneManagementPoint } from '../../roles/management-point/standalone/standalone-management-point.js';
import {
  distributionPointSettings,
  distributionPointSettingsPrefix,
} from '../../roles/distribution-point/standalone/standalone-settings.js';
import { startStandaloneDistributionPoint } from '../../roles/distribution-point/standalone/standalone-distribution-point.js';
import { UsageError } from '../cli-errors.js';
import { adminClientFor, withAdminOptions, type AdminOptions } from './admin-options.js';

/**
 * Site systems on their own hosts (docs/scale-out.md): `steward site system-token` at the site,
 * then `steward mp install|start` and `steward dp install|start` on the system's host.
 */
export function registerSiteSystemCommands(program: Command, site: Command): void {
  withAdminOptions(
    site
      .command('system-token')
      .description(
        'issue a one-time, expiring token that installs a management point or distribution point (standard security mode: the shared site-system credential)',
      )
      .requiredOption('--role <role>', 'mp (management point) or dp (distribution point)')
      .option('--valid-hours <hours>', 'how long the token is valid', '24')
      .option('--description <text>', 'what the token is for', '')
      .option(
        '--replace-shared',
        'standard security mode: revoke the shared credential and issue a new one (it is shown only once)',
      ),
  ).action(
    (
      options: AdminOptions & {
        role: string;
        validHours: string;
        description: string;
        replaceShared?: boolean;
      },
    ) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const role = roleOf(options.role);
        const validHours = Number(options.validHours);
        if (!Number.isInteger(validHours) || validHours < 1 || validHours > 720)
          throw new UsageError('--valid-hours is a whole number of hours from 1 to 720');
        const client = await adminClientFor(options);
        const issued = await client.post<{
          token: string;
          role: string;
          shared: boolean;
          expiresAt: string;
          siteUrl: string;
        }>('/site-systems/tokens', {
          role,
          validHours,
          description: options.description,
          replaceShared: options.replaceShared === true,
        });
        out.result(issued, () => {
          if (issued.shared) {
            out.line(
              `Shared site-system credential (standard security mode; valid until ${issued.expiresAt}, any number of MPs and DPs).`,
            );
            out.line('It is shown only this once; keep it as you would a service account password:');
          } else {
            out.line(`Token for one ${issued.role} (valid until ${issued.expiresAt}, one use):`);
          }
          out.line(issued.token);
          const command = role === 'management-point' ? 'mp' : 'dp';
          out.line(
            `On its host: steward ${command} install --data DIR --token <token> --name NAME --url http(s)://HOST:PORT`,
          );
        });
      }),
  );
  registerRole(program, 'mp', 'management-point');
  registerRole(program, 'dp', 'distribution-point');
}

function registerRole(program: Command, command: 'mp' | 'dp', role: SiteSystemRole): void {
  const what = role === 'management-point' ? 'management point' : 'distribution point';
  const group = program.command(command).description(`run a ${what} on its own host (docs/scale-out.md)`);
  group
    .command('install')
    .description(
      `install a ${what} in an empty data folder with a one-time token: it generates its own keys and the site certifies them`,
    )
    .requiredOption('--data <dir>', `the ${what}'s data folder (new or empty)`)
    .requiredOption('--token <token>', `the token of \`steward site system-token --role ${command}\``)
    .requiredOption(
      '--name <name>',
      `the ${what}'s name, unique in the site (e.g. ABC-${command.toUpperCase()}2)`,
    )
    .requiredOption('--url <url...>', 'the URL(s) agents reach it at (https unless loopback)')
    .option('--site <url>', 'the site server URL (default: the one the token names)')
    .option('--json', 'print one JSON document')
    .action(
      (options: {
        data: string;
        token: string;
        name: string;
        url: string[];
        site?: string;
        json?: boolean;
      }) =>
        runCommand(async () => {
          const out = createOutput(options.json === true);
          const name = siteSystemNameSchema.safeParse(options.name);
          if (!name.success)
            throw new UsageError(`--name ${name.error.issues[0]?.message ?? 'is not valid'}`);
          const passphrase = process.env['STEWARD_KEY_PASSPHRASE'];
          const siteUrl = options.site ?? siteUrlOfToken(options.token);
          const result = await installSiteSystemHere({
            dataDir: resolve(options.data),
            role,
            siteUrl,
            token: options.token,
            name: name.data,
            urls: options.url.map((url) => url.replace(/\/+$/, '')),
            passphrase: passphrase === undefined || passphrase === '' ? null : passphrase,
            now: new Date(),
          });
          out.result(result, () => {
            out.line(`${what} ${result.name} of site ${result.siteCode} installed in ${result.dataDir}`);
            out.line(
              `  key fingerprint: ${result.keyFingerprint}   (its own key; the site keeps none of it)`,
            );
            out.line(`  URLs:            ${result.urls.join(' ')}`);
            if (result.mpCertificateExpiresAt !== null)
              out.line(`  MP certificate:  root-certified, valid until ${result.mpCertificateExpiresAt}`);
            out.line(
              `Start it with: steward ${command} start --data ${result.dataDir}${command === 'mp' ? ' --database URL [--replica URL]' : ''}`,
            );
          });
        }),
    );
  const start = group
    .command('start')
    .description(`run the ${what} in the foreground until SIGTERM`)
    .requiredOption('--data <dir>', `the ${what}'s data folder`)
    .option('--listen <host:port>', 'the listen address (default: host and port of its first URL)')
    .option('--json', 'print one JSON document when it is ready');
  if (role === 'management-point') {
    start
      .requiredOption(
        '--database <url>',
        'the primary site database (postgres://): registrations and reports',
      )
      .option(
        '--replica <url>',
        'a streaming read replica (postgres://): client state and policy are read there',
      );
    addSettingOptions(start, managementPointSettings, managementPointSettingsPrefix).action(
      (
        options: {
          data: string;
          listen?: string;
          json?: boolean;
          database: string;
          replica?: string;
        } & Record<string, unknown>,
      ) =>
        runCommand(async () => {
          const out = createOutput(options.json === true);
          const settings = resolveSettings(managementPointSettings, managementPointSettingsPrefix, options);
          const running = await startStandaloneManagementPoint({
            dataDir: resolve(options.data),
            database: options.database,
            ...(options.replica === undefined ? {} : { replica: options.replica }),
            ...(options.listen === undefined ? {} : { listen: options.listen }),
            settings,
          });
          await announceAndWait(out, running, `Management point ${running.name}`);
        }),
    );
    return;
  }
  addSettingOptions(start, distributionPointSettings, distributionPointSettingsPrefix).action(
    (options: { data: string; listen?: string; json?: boolean } & Record<string, unknown>) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const settings = resolveSettings(distributionPointSettings, distributionPointSettingsPrefix, options);
        const running = await startStandaloneDistributionPoint({
          dataDir: resolve(options.data),
          ...(options.listen === undefined ? {} : { listen: options.listen }),
          settings,
        });
        await announceAndWait(out, running, `Distribution point ${running.name}`);
      }),
  );
}

async function announceAndWait(
  out: Output,
  running: { url: string; name: string; stop(): Promise<void> },
  label: string,
): Promise<void> {
  out.result({ status: 'running', name: running.name, url: running.url, pid: process.pid }, () =>
    out.line(`${label} is running at ${running.url} (pid ${process.pid}); SIGTERM stops it.`),
  );
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void running.stop().then(resolveStop, resolveStop);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

function roleOf(text: string): SiteSystemRole {
  if (text === 'mp' || text === 'management-point') return 'management-point';
  if (text === 'dp' || text === 'distribution-point') return 'distribution-point';
  throw new UsageError('--role is mp or dp');
}

/** The site URL a token names (the token is decoded, not trusted: the install checks the site). */
function siteUrlOfToken(token: string): string {
  const payload = token.trim().split('.')[1] ?? '';
  try {
    const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { siteUrl?: unknown };
    if (typeof parsed.siteUrl === 'string') return parsed.siteUrl;
  } catch {
    // reported below
  }
  throw new UsageError(
    '--token is not a site system token (use the text `steward site system-token` printed)',
  );
}
