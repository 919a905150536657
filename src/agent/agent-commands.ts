import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createOutput, runCommand, UsageError } from '../protocol/command-line.js';
import { lockFolder } from '../platform/lock-file.js';
import { addSettingOptions, resolveSettings } from '../platform/settings.js';
import { AgentEngine } from './agent-engine.js';
import { readAgentConfig } from './state/agent-config.js';
import { agentLayout } from './state/agent-layout.js';
import { agentSettings, agentSettingsPrefix } from './agent-settings.js';
import { enrollAgent, type EnrollOptions, type EnrollResult } from './enroll.js';
import { hostAddresses } from './identity/host-facts.js';
import { locateByDnsSrv, locateBySlp } from './locate/index.js';
import { enrollFromDirectory } from './locate/directory-enrol.js';
import {
  addDirectoryEnrolOptions,
  directoryEnrolTarget,
  type DirectoryCommandOptions,
} from './locate/directory-options.js';

/**
 * `steward agent enroll` and `steward agent run` (DESIGN.md section 9). Registered both by the
 * full `steward` command and by the single-file agent build.
 */
export function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description("the managed machine's agent");

  addDirectoryEnrolOptions(agent.command('enroll'))
    .description(
      'create the client key, obtain and check the root (C1) and MP certificate (C2), and register (S1)',
    )
    .requiredOption('--data <dir>', "the agent's data folder")
    .option('--mp <url>', 'the management point URL')
    .option('--slp <url>', 'locate the site and its MP through this server locator point (by boundary)')
    .option('--dns-domain <domain>', 'locate the MP by DNS SRV _steward-mp._tcp.<domain>')
    .option('--dns-server <host:port>', 'the DNS server for --dns-domain (default: the system resolver)')
    .option('--root-key <fingerprint>', 'the root key fingerprint to pin (sha256:...)')
    .option('--mode <mode>', 'secure, directory-only (with --directory) or trust-on-first-use', 'secure')
    .option('--token <token>', 'an enrolment token from the site (approves the client at once)')
    .option('--hostname <name>', "the name to register (default: this machine's host name)")
    .option('--json', 'print one JSON document')
    .action((options: EnrollCommandOptions) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const mode = options.mode;
        if (mode !== 'secure' && mode !== 'trust-on-first-use' && mode !== 'directory-only') {
          throw new UsageError('--mode is secure, directory-only or trust-on-first-use');
        }
        const common: Omit<EnrollOptions, 'mpUrl'> = {
          dataDir: resolve(options.data),
          rootPin: options.rootKey ?? null,
          mode,
          token: options.token ?? null,
          ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
          passphrase: (process.env['STEWARD_KEY_PASSPHRASE'] ?? '') !== '',
          now: new Date(),
        };
        const directory = options.directory;
        if (directory === undefined && mode === 'directory-only') {
          throw new UsageError('--mode directory-only needs --directory LDAP-URL');
        }
        if (
          directory !== undefined &&
          [options.mp, options.slp, options.dnsDomain].some((w) => w !== undefined)
        ) {
          throw new UsageError(
            'give exactly one of --mp URL, --slp URL, --dns-domain DOMAIN or --directory LDAP-URL',
          );
        }
        const result: EnrollResult & { rejected?: { dn: string; reason: string }[] } =
          directory !== undefined
            ? await enrollFromDirectory({ ...common, ...directoryEnrolTarget({ ...options, directory }) })
            : await enrollAgent({ ...common, mpUrl: await locateManagementPoint(options, common.now) });
        out.result(result, () => {
          out.line(`Enrolled at site ${result.siteCode} as client ${result.clientId}`);
          out.line(
            `  state: ${result.state}${result.state === 'pending' ? ' (an administrator must approve it: steward client approve)' : ''}`,
          );
          out.line(`  root: ${result.rootFingerprint} version ${result.rootVersion} (${result.rootSource})`);
          for (const entry of result.rejected ?? []) {
            out.line(`  ignored directory entry ${entry.dn}: ${entry.reason}`);
          }
        });
      }),
    );

  addSettingOptions(
    agent
      .command('run')
      .description('run the agent until SIGTERM (or one cycle with --once)')
      .requiredOption('--data <dir>', "the agent's data folder")
      .option('--once', 'one full cycle (policy, content, run, report), then exit')
      .option('--json', 'print one JSON document per cycle with --once'),
    agentSettings,
    agentSettingsPrefix,
  ).action((options: { data: string; once?: boolean; json?: boolean } & Record<string, unknown>) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const settings = resolveSettings(agentSettings, agentSettingsPrefix, options);
      const dataDir = resolve(options.data);
      // ERR_NOT_ENROLLED (not a lock-file error) for a folder that holds no enrolled agent.
      await readAgentConfig(agentLayout(dataDir).config);
      const lock = await lockFolder(dataDir, 'steward agent run');
      try {
        const engine = await AgentEngine.open(dataDir, {
          pollIntervalMs: settings.pollInterval * 1000,
          heartbeatIntervalMs: settings.heartbeatInterval * 1000,
          inventoryIntervalMs: settings.inventoryInterval * 1000,
          cacheMaxBytes: settings.cacheSize * 1024 * 1024,
          log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
        });
        if (options.once === true) {
          const result = await engine.cycle();
          out.result(result, () =>
            out.line(
              `cycle done: ${result.assignments} deployments, ${result.reportsSent} reports sent, ${result.reportsQueued} queued`,
            ),
          );
          if (result.errors.length > 0 && result.managementPoint === null) process.exitCode = 1;
          return;
        }
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        await engine.run(controller.signal);
      } finally {
        await lock.release();
      }
    }),
  );
}

interface EnrollCommandOptions extends DirectoryCommandOptions {
  data: string;
  mp?: string;
  slp?: string;
  dnsDomain?: string;
  dnsServer?: string;
  rootKey?: string;
  mode: string;
  token?: string;
  hostname?: string;
  json?: boolean;
}

/**
 * DESIGN.md section 3: a configured MP URL, else the server locator point (its answer verified
 * against the pinned root when one is given), else DNS SRV. The MP found is still checked by C1
 * and C2 during enrolment, whichever way it was found.
 */
async function locateManagementPoint(options: EnrollCommandOptions, now: Date): Promise<string> {
  const ways = [options.mp, options.slp, options.dnsDomain].filter((w) => w !== undefined).length;
  if (ways !== 1) {
    throw new UsageError(
      'give exactly one of --mp URL, --slp URL, --dns-domain DOMAIN or --directory LDAP-URL',
    );
  }
  if (options.mp !== undefined) return options.mp;
  if (options.slp !== undefined) {
    const located = await locateBySlp(options.slp, hostAddresses(), {
      now,
      ...(options.rootKey === undefined ? {} : { pin: options.rootKey }),
    });
    const first = located.managementPointUrls[0];
    if (first === undefined) throw new UsageError('the server locator point named no management point');
    return first;
  }
  const urls = await locateByDnsSrv(
    options.dnsDomain ?? '',
    options.dnsServer === undefined ? {} : { servers: [options.dnsServer] },
  );
  const first = urls[0];
  if (first === undefined) throw new UsageError(`no management point found for ${options.dnsDomain ?? ''}`);
  return first;
}
