import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { readSiteConfig } from '../../site/data-folder/site-config.js';
import { siteDataLayout } from '../../site/data-folder/layout.js';
import { joinParentSite } from '../../site/hierarchy/join/join-site.js';
import {
  exportChildKeyRequest,
  importParentAnswer,
  readKeyExchangeFile,
} from '../../site/hierarchy/join/manual-key-exchange.js';
import { writeFileAtomic } from '../../platform/atomic-file.js';
import type { HierarchyOverview } from '../../site/hierarchy/overview.js';
import { startSecondarySite } from '../../site/hierarchy/secondary/secondary-server.js';
import { createOutput, runCommand, table, type Output } from '../../protocol/command-line.js';
import { UsageError } from '../cli-errors.js';
import { adminClientFor, withAdminOptions, type AdminOptions } from './admin-options.js';

/** `steward site init --parent URL --join-token TOKEN` (docs/hierarchy.md, "Joining"). */
export async function initChildSite(
  options: {
    data: string;
    code: string;
    name: string;
    listen: string;
    publicUrl?: string;
    database?: string;
    approval: string;
    parent?: string;
    joinToken?: string;
    secondary?: boolean;
    rootKey?: string;
    automaticKeyExchange?: boolean;
    joinWait?: string;
  },
  out: Output,
): Promise<void> {
  if (options.joinToken === undefined && options.automaticKeyExchange !== true) {
    throw new UsageError(
      'joining needs the parent\u2019s join token (--join-token, from `steward site join-token` at the parent); ' +
        '--automatic-key-exchange joins without one where the parent allows it (the audit reports it)',
    );
  }
  if (options.approval !== 'token' && options.approval !== 'automatic') {
    throw new UsageError('--approval is token or automatic');
  }
  const waitSeconds = Number(options.joinWait ?? '600');
  if (!Number.isInteger(waitSeconds) || waitSeconds < 1 || waitSeconds > 86_400) {
    throw new UsageError('--join-wait is a number of seconds from 1 to 86400');
  }
  const passphrase = process.env['STEWARD_KEY_PASSPHRASE'];
  const result = await joinParentSite({
    dataDir: resolve(options.data),
    code: options.code,
    name: options.name === '' ? `Site ${options.code.toUpperCase()}` : options.name,
    listen: options.listen,
    publicUrl: options.publicUrl ?? null,
    database: options.database ?? null,
    passphrase: passphrase === undefined || passphrase === '' ? null : passphrase,
    approval: options.approval,
    parentUrl: options.parent ?? null,
    joinToken: options.joinToken ?? null,
    siteType: options.secondary === true ? 'secondary' : options.joinToken === undefined ? 'primary' : null,
    rootPin: options.rootKey ?? null,
    waitMs: waitSeconds * 1000,
    now: () => new Date(),
    onProgress: (line) => out.line(`  ${line}`),
  });
  out.result(result, () => {
    out.line(
      `Site ${result.siteCode} (${result.siteType}) joined ${result.parentCode} and was created in ${result.dataDir}`,
    );
    out.line(`  parent:               ${result.parentCode} at ${result.parentUrl}`);
    out.line(`  parent site key:      ${result.parentSiteKeyFingerprint}   (checked against the join token)`);
    out.line(`  root key fingerprint: ${result.rootFingerprint}   (pin it on agents: --root-key)`);
    out.line(`  site key:             ${result.siteKeyFingerprint}   (certified by the root)`);
    out.line(`  site URL:             ${result.url}`);
    out.line(`  admin credentials:    ${result.credentialsPath}`);
    if (result.enrolmentToken !== null) out.line(`  enrolment token:      ${result.enrolmentToken}`);
    if (result.keyExchange === 'automatic') {
      out.line(
        '  WARNING: joined by automatic key exchange (no join token): the parent was trusted on first use',
      );
    }
    out.line(`Start it with: steward site start --data ${result.dataDir}`);
  });
}

/** True when the data folder holds a secondary site (which `site start` runs differently). */
export async function isSecondarySite(dataDir: string): Promise<boolean> {
  try {
    return (await readSiteConfig(siteDataLayout(dataDir).config)).siteType === 'secondary';
  } catch {
    return false;
  }
}

/** `steward site start` of a secondary site: proxy MP, DP and the link to its parent. */
export async function runSecondarySite(options: {
  data: string;
  listen?: string;
  json?: boolean;
  logLevel?: string;
  transport?: { tls: 'auto' | 'always' | 'never'; insecureHttp: boolean };
}): Promise<void> {
  const out = createOutput(options.json === true);
  const running = await startSecondarySite({
    dataDir: resolve(options.data),
    ...(options.transport === undefined ? {} : { transport: options.transport }),
    ...(options.listen === undefined ? {} : { listen: options.listen }),
    ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
  });
  out.result(
    { status: 'running', site: running.config.code, type: 'secondary', url: running.url, pid: process.pid },
    () =>
      out.line(
        `Secondary site ${running.config.code} is running at ${running.url} (pid ${process.pid}); SIGTERM stops it.`,
      ),
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

/** The hierarchy part of `steward site status`. */
export function printHierarchy(out: Output, hierarchy: HierarchyOverview | undefined): void {
  if (hierarchy === undefined) return;
  if (hierarchy.links.length === 0) {
    out.line('Hierarchy: no parent and no child sites (a single site).');
  } else {
    out.line('Site links:');
    out.line(
      table([
        ['SITE', 'DIRECTION', 'TYPE', 'BACKLOG', 'SENT/ACKED', 'RECEIVED', 'LAST CONTACT', 'LAST ERROR'],
        ...hierarchy.links.map((link) => [
          link.siteCode,
          link.direction,
          link.siteType,
          `${link.backlog.records} records, ${link.backlog.batches} batch`,
          `${link.outboundSequence}/${link.acknowledgedSequence}`,
          String(link.inboundSequence),
          link.lastContactAt ?? 'never',
          link.lastError === null ? '-' : `${link.lastErrorAt ?? ''} ${link.lastError}`.slice(0, 120),
        ]),
      ]),
    );
  }
  if (hierarchy.sites.length > 1) {
    out.line('Sites known here:');
    out.line(
      table([
        ['CODE', 'TYPE', 'PARENT', 'NAME', 'SITE KEY', 'SITE CONTROL'],
        ...hierarchy.sites.map((site) => [
          `${site.code}${site.local ? ' (this site)' : ''}`,
          site.type,
          site.parentCode ?? '-',
          site.name,
          site.siteKeyFingerprint,
          site.siteControlVersion === null ? '-' : `v${site.siteControlVersion}`,
        ]),
      ]),
    );
  }
  const waiting = hierarchy.contentTransfers.filter((t) => t.state !== 'done');
  if (waiting.length > 0) {
    out.line(`Content from the parent: ${waiting.length} package version(s) waiting`);
    for (const transfer of waiting.slice(0, 10)) {
      out.line(
        `  ${transfer.packageId} ${transfer.version}: ${transfer.state}, ${transfer.attempts} attempt(s) ${transfer.lastError ?? ''}`,
      );
    }
  }
}

/** `steward site join-token`, `steward site link`, `steward site status-forwarding`. */
export function registerHierarchySiteCommands(site: Command): void {
  registerKeyExchangeCommands(site);
  withAdminOptions(
    site
      .command('join-token')
      .description(
        'issue a one-time, expiring join token for a child site (give it to the child\u2019s administrator out of band)',
      )
      .option('--secondary', 'the child is a secondary site (default: a primary site)')
      .option('--valid-hours <hours>', 'how long the token is valid', '24')
      .option('--description <text>', 'what the token is for', ''),
  ).action((options: AdminOptions & { secondary?: boolean; validHours: string; description: string }) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const client = await adminClientFor(options);
      const validHours = Number(options.validHours);
      if (!Number.isInteger(validHours) || validHours < 1)
        throw new UsageError('--valid-hours is a whole number of hours');
      const issued = await client.post<{
        token: string;
        siteType: string;
        expiresAt: string;
        parentCode: string;
        parentUrl: string;
        parentSiteKeyFingerprint: string;
      }>('/hierarchy/join-tokens', {
        siteType: options.secondary === true ? 'secondary' : 'primary',
        validHours,
        description: options.description,
      });
      out.result(issued, () => {
        out.line(
          `Join token for a ${issued.siteType} site under ${issued.parentCode} (valid until ${issued.expiresAt}, one use):`,
        );
        out.line(issued.token);
        out.line(
          `The child checks that ${issued.parentUrl} holds site key ${issued.parentSiteKeyFingerprint} before it sends anything.`,
        );
        out.line(
          `At the child: steward site init --data DIR --code XYZ --parent ${issued.parentUrl} --join-token <token>`,
        );
      });
    }),
  );

  withAdminOptions(
    site
      .command('link')
      .description("set a site link's schedule (open hours, UTC) and rate limit, as SMS addresses had")
      .argument('<code>', 'the site at the other end of the link')
      .option(
        '--open <window...>',
        'open hours like 22:00-06:00 or mon-fri@08:00-18:00 (repeat; none: always open)',
      )
      .option('--max-bytes-per-second <n>', 'rate limit (none: unlimited)'),
  ).action((code: string, options: AdminOptions & { open?: string[]; maxBytesPerSecond?: string }) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const client = await adminClientFor(options);
      const settings = {
        openHours: (options.open ?? []).map(parseWindow),
        maxBytesPerSecond: options.maxBytesPerSecond === undefined ? null : Number(options.maxBytesPerSecond),
      };
      const answer = await client.request<unknown>('PUT', `/hierarchy/links/${code.toUpperCase()}`, settings);
      out.result(answer, () => out.line(`Link ${code.toUpperCase()} updated.`));
    }),
  );

  withAdminOptions(
    site
      .command('status-forwarding')
      .description('which status messages go up to the parent: all, deployments-and-errors, errors, none')
      .argument('<rule>'),
  ).action((rule: string, options: AdminOptions) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const client = await adminClientFor(options);
      const answer = await client.request<unknown>('PUT', '/hierarchy/status-forwarding', { rule });
      out.result(answer, () => out.line(`Status messages going up: ${rule}`));
    }),
  );
}

/** `steward site export-key` and `import-key`: the manual key exchange (docs/hierarchy.md). */
export function registerKeyExchangeCommands(site: Command): void {
  site
    .command('export-key')
    .description(
      'manual key exchange: at a new child site, make its keys and write a key request (--code, --parent-code); ' +
        'at the parent, write the answer of a certified join (--join)',
    )
    .requiredOption('--data <dir>', 'the data folder (a new one at the child)')
    .requiredOption('--file <file>', 'the file to write')
    .option('--code <code>', 'child: the new site code')
    .option('--parent-code <code>', "child: the parent site's code")
    .option(
      '--parent <url>',
      "child: the parent's URL, once the network reaches it (default: the one in its answer)",
    )
    .option('--secondary', 'child: a secondary site')
    .option('--name <text>', 'child: the site name', '')
    .option('--listen <host:port>', 'child: where the site server will listen', '127.0.0.1:8430')
    .option('--public-url <url>', 'child: the URL agents and the parent use')
    .option('--database <url>', 'child: postgres://... (default: the embedded database)')
    .option('--join <id>', 'parent: the join whose answer to write (from import-key)')
    .option('--site <url>', 'parent: the site URL (credentials from STEWARD_TOKEN)')
    .option('--json', 'print one JSON document')
    .action(
      (options: {
        data: string;
        file: string;
        code?: string;
        parentCode?: string;
        parent?: string;
        secondary?: boolean;
        name: string;
        listen: string;
        publicUrl?: string;
        database?: string;
        join?: string;
        site?: string;
        json?: boolean;
      }) =>
        runCommand(async () => {
          const out = createOutput(options.json === true);
          if (options.join !== undefined) {
            const client = await adminClientFor(options);
            const answer = await client.post<{ file: string; parentSiteKeyFingerprint: string }>(
              '/hierarchy/key-answers',
              { joinId: options.join },
            );
            await writeFileAtomic(resolve(options.file), answer.file, 0o600);
            out.result(
              { file: resolve(options.file), parentSiteKeyFingerprint: answer.parentSiteKeyFingerprint },
              () => {
                out.line(`Key answer written to ${resolve(options.file)}.`);
                out.line(
                  `Tell the child's administrator this site key fingerprint, out of band: ${answer.parentSiteKeyFingerprint}`,
                );
              },
            );
            return;
          }
          if (options.code === undefined || options.parentCode === undefined) {
            throw new UsageError('at a new child site: --code and --parent-code; at the parent: --join ID');
          }
          const passphrase = process.env['STEWARD_KEY_PASSPHRASE'];
          const exported = await exportChildKeyRequest({
            dataDir: resolve(options.data),
            code: options.code,
            name: options.name === '' ? `Site ${options.code.toUpperCase()}` : options.name,
            siteType: options.secondary === true ? 'secondary' : 'primary',
            parentCode: options.parentCode.toUpperCase(),
            parentUrl: options.parent ?? null,
            listen: options.listen,
            publicUrl: options.publicUrl ?? null,
            database: options.database ?? null,
            passphrase: passphrase === undefined || passphrase === '' ? null : passphrase,
            approval: 'token',
            now: new Date(),
          });
          await writeFileAtomic(resolve(options.file), exported.file, 0o600);
          out.result({ file: resolve(options.file), siteKeyFingerprint: exported.siteKeyFingerprint }, () => {
            out.line(
              `Key request written to ${resolve(options.file)}; carry it to the parent's administrator.`,
            );
            out.line(`Tell them this site key fingerprint, out of band: ${exported.siteKeyFingerprint}`);
          });
        }),
    );

  site
    .command('import-key')
    .description(
      "manual key exchange: at the parent, import a child's key request; at the child, import the parent's answer " +
        '(each with the other end\u2019s fingerprint, compared out of band)',
    )
    .requiredOption('--data <dir>', 'the data folder')
    .requiredOption('--file <file>', 'the key request or key answer')
    .requiredOption('--fingerprint <fingerprint>', "the other site's key fingerprint, as told out of band")
    .option('--root-key <fingerprint>', "child: the hierarchy's root key fingerprint, when you have it")
    .option('--site <url>', 'parent: the site URL (credentials from STEWARD_TOKEN)')
    .option('--json', 'print one JSON document')
    .action(
      (options: {
        data: string;
        file: string;
        fingerprint: string;
        rootKey?: string;
        site?: string;
        json?: boolean;
      }) =>
        runCommand(async () => {
          const out = createOutput(options.json === true);
          const text = await readFile(resolve(options.file), 'utf8');
          const read = readKeyExchangeFile(text);
          if (read.kind === 'request') {
            const client = await adminClientFor(options);
            const answer = await client.post<{ joinId: string; state: string }>('/hierarchy/key-requests', {
              file: text,
              fingerprint: options.fingerprint,
            });
            out.result(answer, () => {
              out.line(`Site ${read.file.siteCode} accepted: join ${answer.joinId} is ${answer.state}.`);
              out.line(
                `When it is certified: steward site export-key --data ${options.data} --join ${answer.joinId} --file answer.json`,
              );
            });
            return;
          }
          const passphrase = process.env['STEWARD_KEY_PASSPHRASE'];
          const result = await importParentAnswer({
            dataDir: resolve(options.data),
            fileText: text,
            fingerprint: options.fingerprint,
            passphrase: passphrase === undefined || passphrase === '' ? null : passphrase,
            rootPin: options.rootKey ?? null,
            now: new Date(),
          });
          out.result(result, () => {
            out.line(
              `Site ${result.siteCode} (${result.siteType}) joined ${result.parentCode} by manual key exchange.`,
            );
            out.line(`Start it with: steward site start --data ${result.dataDir}`);
          });
        }),
    );
}

const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** `22:00-06:00`, `mon-fri@08:00-18:00`, `sat,sun@00:00-24:00`… */
export function parseWindow(text: string): { days: number[]; from: string; to: string } {
  const at = text.indexOf('@');
  const dayPart = at < 0 ? undefined : text.slice(0, at);
  const timePart = at < 0 ? text : text.slice(at + 1);
  const match = /^(\d{2}:\d{2})-(\d{2}:\d{2})$/.exec(timePart);
  if (match === null)
    throw new UsageError(`--open ${text}: expected HH:MM-HH:MM, optionally after days and @`);
  const to = match[2] === '24:00' ? '00:00' : (match[2] ?? '');
  const days =
    dayPart === undefined
      ? [0, 1, 2, 3, 4, 5, 6]
      : dayPart.split(',').flatMap((part) => {
          const [first, last] = part.split('-');
          const a = dayNames.indexOf(first ?? '');
          const b = last === undefined ? a : dayNames.indexOf(last);
          if (a < 0 || b < 0)
            throw new UsageError(`--open ${text}: days are sun, mon, tue, wed, thu, fri, sat`);
          const list: number[] = [];
          for (let day = a; ; day = (day + 1) % 7) {
            list.push(day);
            if (day === b) break;
          }
          return list;
        });
  return { days: [...new Set(days)], from: match[1] ?? '', to };
}
