import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { createOutput, runCommand } from '../../protocol/command-line.js';
import { AdminClient, resolveAdminTarget } from '../admin-client.js';
import { UsageError } from '../cli-errors.js';
import { pushAgent } from '../push/push-agent.js';

interface PushCommandOptions {
  ssh: string;
  port: string;
  identity?: string;
  passwordFile?: string;
  hostKey: string[];
  site?: string;
  data?: string;
  caFile?: string;
  mp?: string;
  rootKey?: string;
  token?: string;
  installDir: string;
  agentData: string;
  node: string;
  agentFile?: string;
  hostname?: string;
  connectTimeout: string;
  json?: boolean;
}

/**
 * `steward client push --ssh user@host` (docs/client-push.md): installs the single-file agent over
 * SSH and enrols it. Without --token it creates a one-use enrolment token through the admin API;
 * without --root-key it pins the site's current root key as the admin API reports it.
 */
export function registerClientPushCommand(program: Command): void {
  const client = program.commands.find((command) => command.name() === 'client') ?? program.command('client');
  client
    .command('push')
    .description('install and enrol the agent on a machine over SSH (credentials used once, never stored)')
    .requiredOption('--ssh <user@host>', 'the account and machine to install on')
    .option('--port <n>', 'the SSH port', '22')
    .option('--identity <file>', 'a private key file (unencrypted OpenSSH or PEM) for that account')
    .option('--password-file <file>', "a file holding the account's password (first line)")
    .option(
      '--host-key <fingerprint>',
      "the target's SSH host key as ssh-keygen -lf prints it (SHA256:...); repeat for several",
      (value: string, previous: string[]) => [...previous, value.trim()],
      [] as string[],
    )
    .option('--site <url>', 'the site (admin API, and the management point the agent enrols with)')
    .option(
      '--data <dir>',
      'the data folder of a site running on this machine (finds the site and credentials)',
    )
    .option('--ca-file <file>', 'the CA certificate an https site is checked against (env STEWARD_CA_FILE)')
    .option('--mp <url>', 'the management point URL the agent uses (default: the site URL)')
    .option('--root-key <fingerprint>', 'the root key the agent pins (default: from the site)')
    .option('--token <token>', 'an enrolment token (default: a new one-use token from the site)')
    .option('--install-dir <dir>', 'where the agent file goes on the target', '/opt/steward')
    .option('--agent-data <dir>', "the agent's data folder on the target", '/var/lib/steward/agent')
    .option('--node <path>', 'Node.js (20 or later) on the target', 'node')
    .option('--agent-file <file>', 'the single-file agent to copy (default: dist/steward-agent.cjs)')
    .option('--hostname <name>', 'the name the agent registers (default: the target host name)')
    .option('--connect-timeout <seconds>', 'how long to wait for the SSH handshake', '20')
    .option('--json', 'print one JSON document')
    .action((options: PushCommandOptions) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const at = options.ssh.lastIndexOf('@');
        const username = at > 0 ? options.ssh.slice(0, at) : '';
        const host = options.ssh.slice(at + 1).replace(/^\[(.*)\]$/, '$1');
        if (username === '' || host === '') throw new UsageError('--ssh is user@host');
        const port = Number(options.port);
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError('--port is 1 to 65535');
        const timeout = Number(options.connectTimeout);
        if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError('--connect-timeout is seconds');
        if ((options.identity === undefined) === (options.passwordFile === undefined)) {
          throw new UsageError('give exactly one of --identity FILE or --password-file FILE');
        }
        for (const key of options.hostKey) {
          if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(key)) {
            throw new UsageError(
              `--host-key ${key}: expected SHA256:<43 base64 characters>, as ssh-keygen -lf prints`,
            );
          }
        }
        const site = await siteFacts(options);
        const result = await pushAgent({
          target: { host, port, username, hostKeys: options.hostKey, connectTimeoutMs: timeout * 1000 },
          credentialFile:
            options.identity !== undefined
              ? { kind: 'identity', path: resolve(options.identity) }
              : { kind: 'password', path: resolve(options.passwordFile ?? '') },
          agentFile: options.agentFile === undefined ? defaultAgentFile() : resolve(options.agentFile),
          installDir: options.installDir,
          agentData: options.agentData,
          node: options.node,
          mpUrl: site.mpUrl,
          rootKey: site.rootKey,
          enrolmentToken: site.token,
          ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
        });
        out.result(result, () => {
          out.line(`Agent installed on ${result.target} (host key ${result.hostKey}) at ${result.agentPath}`);
          out.line(`Enrolled at site ${result.siteCode} as client ${result.clientId} (${result.state})`);
          out.line(
            `Start it there: ${options.node} ${result.agentPath} agent run --data ${result.agentData} (as a service)`,
          );
        });
      }),
    );
}

/** The management point URL, the root key to pin and an enrolment token: given, or from the site. */
async function siteFacts(
  options: PushCommandOptions,
): Promise<{ mpUrl: string; rootKey: string; token: string }> {
  let admin: AdminClient | undefined;
  let siteUrl = options.site;
  if (
    options.rootKey === undefined ||
    options.token === undefined ||
    (options.mp ?? options.site) === undefined
  ) {
    const target = await resolveAdminTarget({
      ...(options.site === undefined ? {} : { site: options.site }),
      ...(options.data === undefined ? {} : { data: resolve(options.data) }),
      ...(options.caFile === undefined ? {} : { caFile: options.caFile }),
    });
    siteUrl ??= target.url;
    admin = new AdminClient(target);
  }
  const mpUrl = options.mp ?? siteUrl;
  if (mpUrl === undefined) throw new UsageError('say where the agent enrols: --mp URL or --site URL');
  let rootKey = options.rootKey;
  if (rootKey === undefined && admin !== undefined) {
    const trust = await admin.get<{ root: { keys: { fingerprint: string }[] }[] }>('/trust');
    rootKey = trust.root.at(-1)?.keys[0]?.fingerprint;
  }
  if (rootKey === undefined) throw new UsageError('the site reports no root key: give --root-key');
  let token = options.token;
  if (token === undefined && admin !== undefined) {
    const created = await admin.post<{ token: string }>('/enrolment-tokens', {
      description: `client push to ${options.ssh}`.slice(0, 500),
      uses: 1,
      validHours: 1,
    });
    token = created.token;
  }
  if (token === undefined) throw new UsageError('give --token, or admin access to the site to create one');
  return { mpUrl, rootKey, token };
}

/** dist/steward-agent.cjs beside the built CLI (dist/steward.mjs), or in the source tree's dist/. */
function defaultAgentFile(): string {
  const candidates = [
    fileURLToPath(new URL('./steward-agent.cjs', import.meta.url)),
    fileURLToPath(new URL('../../../dist/steward-agent.cjs', import.meta.url)),
  ];
  return candidates.find((path) => existsSync(path)) ?? candidates[0] ?? 'steward-agent.cjs';
}
