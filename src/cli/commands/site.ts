import { resolve } from 'node:path';
import type { Command } from 'commander';
import { initCentralSite } from '../../site/init/site-init.js';
import { startSiteServer } from '../../site/server/site-server.js';
import { siteServerSettings, siteSettingsPrefix } from '../../site/site-settings.js';
import { addSettingOptions, resolveSettings } from '../../platform/settings.js';
import { AdminClient, resolveAdminTarget } from '../admin-client.js';
import { UsageError } from '../cli-errors.js';
import { createOutput, runCommand, table } from '../../protocol/command-line.js';
import {
  initChildSite,
  isSecondarySite,
  printHierarchy,
  registerHierarchySiteCommands,
  runSecondarySite,
} from './hierarchy-site.js';
import type { HierarchyOverview } from '../../site/hierarchy/overview.js';
import { securityModes, type SecurityMode } from '../../site/security-mode/index.js';
import { registerSecurityModeCommand } from './security-mode.js';
import { registerSiteSystemCommands } from './site-systems.js';

export function registerSiteCommands(program: Command): void {
  const site = program.command('site').description('create, run and inspect a site');

  site
    .command('init')
    .description('create a site in a new data folder (without --parent: a central site with the root key)')
    .requiredOption('--data <dir>', 'the new data folder')
    .requiredOption('--code <code>', 'three-character site code, like ABC')
    .option('--name <text>', 'the site name', '')
    .option('--listen <host:port>', 'where the site server listens', '127.0.0.1:8430')
    .option('--public-url <url>', 'the URL agents use, when it differs from the listen address')
    .option(
      '--database <url>',
      'postgres://... (default: the embedded database in the data folder); TLS: ?sslmode=verify-full&sslrootcert=FILE',
    )
    .option('--database-require-tls', 'refuse a database connection that is not TLS (kept in site.json)')
    .option('--approval <mode>', 'client approval: token (enrolment token or manual), automatic', 'token')
    .option(
      '--security-mode <mode>',
      'advanced (default: every site system its own identity) or standard (shared credential; audited)',
      'advanced',
    )
    .option('--parent <url>', 'join a parent site as a primary or secondary site (docs/hierarchy.md)')
    .option('--join-token <token>', "the parent's join token (steward site join-token at the parent)")
    .option('--secondary', 'join as a secondary site (the join token says so too)')
    .option(
      '--root-key <fingerprint>',
      "the hierarchy's root key fingerprint, when you have it: checked at the join",
    )
    .option(
      '--automatic-key-exchange',
      'join without a token where the parent allows it (trust on first use; audited)',
    )
    .option('--join-wait <seconds>', 'how long to wait for the central site to certify this site', '600')
    .option('--json', 'print one JSON document')
    .action((options: SiteInitOptions) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        if (
          options.parent !== undefined ||
          options.joinToken !== undefined ||
          options.automaticKeyExchange === true
        ) {
          if (options.securityMode !== 'advanced') {
            throw new UsageError('a site that joins a hierarchy uses advanced security (--security-mode)');
          }
          await initChildSite(options, out);
          return;
        }
        if (options.approval !== 'token' && options.approval !== 'automatic') {
          throw new UsageError('--approval is token or automatic');
        }
        if (!(securityModes as readonly string[]).includes(options.securityMode)) {
          throw new UsageError('--security-mode is advanced or standard');
        }
        const passphrase = process.env['STEWARD_KEY_PASSPHRASE'];
        const result = await initCentralSite({
          dataDir: resolve(options.data),
          code: options.code,
          name: options.name === '' ? `Site ${options.code.toUpperCase()}` : options.name,
          listen: options.listen,
          publicUrl: options.publicUrl ?? null,
          database: options.database ?? null,
          passphrase: passphrase === undefined || passphrase === '' ? null : passphrase,
          approval: options.approval,
          databaseRequireTls: options.databaseRequireTls === true,
          securityMode: options.securityMode as SecurityMode,
          now: new Date(),
        });
        out.result(result, () => {
          out.line(`Site ${result.siteCode} (central) created in ${result.dataDir}`);
          out.line(`  root key fingerprint: ${result.rootFingerprint}   (pin it on agents: --root-key)`);
          out.line(`  site URL:             ${result.url}`);
          out.line(`  database:             ${result.database}`);
          out.line(`  TLS CA (sha256):      ${result.tlsCaSha256}   (${result.dataDir}/tls/ca.pem)`);
          out.line(`  admin credentials:    ${result.credentialsPath}`);
          out.line(
            `  enrolment token:      ${result.enrolmentToken}   (valid until ${result.enrolmentTokenExpiresAt})`,
          );
          out.line(`Start it with: steward site start --data ${result.dataDir}`);
        });
      }),
    );

  addSettingOptions(
    site
      .command('start')
      .description('run the site server in the foreground until SIGTERM')
      .requiredOption('--data <dir>', "the site's data folder")
      .option('--listen <host:port>', 'override the listen address from site.json')
      .option('--json', 'print one JSON document when the site is ready'),
    siteServerSettings,
    siteSettingsPrefix,
  ).action((options: { data: string; listen?: string; json?: boolean } & Record<string, unknown>) =>
    runCommand(async () => {
      if (await isSecondarySite(resolve(options.data))) {
        const { tls, insecureHttp } = resolveSettings(siteServerSettings, siteSettingsPrefix, options);
        await runSecondarySite({
          ...options,
          transport: { tls, insecureHttp },
          ...(typeof options['logLevel'] === 'string' ? { logLevel: options['logLevel'] } : {}),
        });
        return;
      }
      const out = createOutput(options.json === true);
      const settings = resolveSettings(siteServerSettings, siteSettingsPrefix, options);
      const running = await startSiteServer({
        dataDir: resolve(options.data),
        ...(options.listen === undefined ? {} : { listen: options.listen }),
        settings,
      });
      out.result({ status: 'running', site: running.config.code, url: running.url, pid: process.pid }, () =>
        out.line(
          `Site ${running.config.code} is running at ${running.url} (pid ${process.pid}); SIGTERM stops it.`,
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
    }),
  );

  site
    .command('status')
    .description(
      'show the site, its systems, its clients and the hierarchy (links, backlog, last contact, errors)',
    )
    .option('--data <dir>', "the site's data folder")
    .option('--site <url>', 'the site URL')
    .option('--ca-file <file>', 'the CA certificate an https site is checked against (env STEWARD_CA_FILE)')
    .option('--json', 'print one JSON document')
    .action((options: { data?: string; site?: string; caFile?: string; json?: boolean }) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const client = new AdminClient(await resolveAdminTarget(options));
        const status = await client.get<SiteStatus>('/site');
        out.result(status, () => {
          out.line(
            `Site ${status.code} "${status.name}" (${status.type}) at ${status.url}, version ${status.version}`,
          );
          out.line(
            `Clients: ${status.clients.approved} approved, ${status.clients.pending} pending, ${status.clients.revoked} revoked`,
          );
          out.line(
            table([
              ['ROLE', 'NAME', 'URLS', 'HEALTH', 'KEY'],
              ...status.siteSystems.map((s) => [
                s.role,
                s.name,
                s.urls.join(' '),
                s.health,
                s.keyFingerprint ?? '-',
              ]),
            ]),
          );
          printHierarchy(out, status.hierarchy);
        });
      }),
    );

  registerHierarchySiteCommands(site);
  registerSecurityModeCommand(site);
  registerSiteSystemCommands(program, site);
}

interface SiteInitOptions {
  data: string;
  code: string;
  name: string;
  listen: string;
  publicUrl?: string;
  database?: string;
  databaseRequireTls?: boolean;
  approval: string;
  securityMode: string;
  parent?: string;
  joinToken?: string;
  secondary?: boolean;
  rootKey?: string;
  automaticKeyExchange?: boolean;
  joinWait?: string;
  json?: boolean;
}

interface SiteStatus {
  code: string;
  name: string;
  type: string;
  url: string;
  version: string;
  clients: { pending: number; approved: number; revoked: number };
  siteSystems: {
    role: string;
    name: string;
    urls: string[];
    health: string;
    keyFingerprint: string | null;
  }[];
  hierarchy?: HierarchyOverview;
}
