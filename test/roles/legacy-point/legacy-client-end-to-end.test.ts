/**
 * Issue 8, item 4: the legacy client for real. `legacy/steward-legacy-client.sh` runs under `sh`
 * with only the tools it declares (a PATH of links to them, with or without openssl) against a real
 * `steward site start` process, through a tampering proxy on loopback: it enrols, receives a
 * deployment, verifies the signed list and the tar's SHA-256, runs the program and reports; a
 * tampered list, a tampered tar and a replayed list are refused and nothing runs. The audit's facts
 * count legacy clients and those that cannot verify.
 */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../support/postgres.js';
import { startSteward, stewardJson, stopProcess, waitUntil } from '../../cli/steward-cli.js';

const script = resolve(import.meta.dirname, '../../../legacy/steward-legacy-client.sh');
/** Every outside tool the script uses; `[`, printf, read, cd and pwd are shell builtins. */
const tools = [
  'sh',
  'curl',
  'tar',
  'sha256sum',
  'base64',
  'od',
  'sed',
  'tr',
  'wc',
  'cut',
  'head',
  'tail',
  'date',
  'mktemp',
  'uname',
  'cat',
  'mkdir',
  'rm',
  'mv',
  'cp',
  'chmod',
  'grep',
  'timeout',
];

function which(tool: string): string {
  return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
}

type Tamper = 'none' | 'list-command' | 'list-signature' | 'tar' | 'replay';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('the legacy client against a real site', () => {
  let root = '';
  let site: ChildProcess | undefined;
  let proxy: Server | undefined;
  let siteUrl = '';
  let proxyUrl = '';
  let dataDir = '';
  let token = '';
  let withOpenssl = '';
  let withoutOpenssl = '';
  let tamper: Tamper = 'none';
  let savedList: Buffer | undefined;
  let lastList: Buffer | undefined;

  const legacy = (args: string[], bin = withOpenssl): Promise<Run> =>
    new Promise((resolveRun) => {
      execFile(
        join(bin, 'sh'),
        [script, ...args],
        { env: { PATH: bin, HOME: root, LC_ALL: 'C' }, cwd: root, maxBuffer: 4 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
          resolveRun({ code, stdout, stderr });
        },
      );
    });

  const admin = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const response = await fetch(`${siteUrl}/api/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    return (await response.json()) as T;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'steward-legacy-'));
    withOpenssl = join(root, 'bin-openssl');
    withoutOpenssl = join(root, 'bin-plain');
    await mkdir(withOpenssl);
    await mkdir(withoutOpenssl);
    for (const tool of tools) {
      const path = which(tool);
      await symlink(path, join(withOpenssl, tool));
      await symlink(path, join(withoutOpenssl, tool));
    }
    await symlink(which('openssl'), join(withOpenssl, 'openssl'));

    const port = await freePort();
    dataDir = join(root, 'site');
    await stewardJson(['site', 'init', '--data', dataDir, '--code', 'LEG', '--listen', `127.0.0.1:${port}`]);
    siteUrl = `http://127.0.0.1:${port}`;
    token = (JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as { token: string })
      .token;
    site = startSteward(['site', 'start', '--data', dataDir]);
    await waitUntil(async () => (await fetch(`${siteUrl}/health`)).ok, 30_000, 'the site');

    // A man in the middle on loopback: passes requests on, and alters answers when told to.
    proxy = createServer((incoming, outgoing) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const upstream = request(
          `${siteUrl}${incoming.url ?? '/'}`,
          { method: incoming.method, headers: incoming.headers },
          (answer) => {
            const parts: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => parts.push(chunk));
            answer.on('end', () => {
              let body: Buffer = Buffer.concat(parts);
              const isList = (incoming.url ?? '').startsWith('/legacy/v1/list') && answer.statusCode === 200;
              if (isList) {
                savedList ??= body;
                lastList = body;
              }
              if (isList && tamper === 'list-command') {
                body = Buffer.from(body.toString('utf8').replace('sh install.sh', 'sh evil.sh'));
              } else if (isList && tamper === 'list-signature') {
                const text = body.toString('utf8');
                const at = text.indexOf('signature ') + 'signature '.length + 5;
                body = Buffer.from(text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1));
              } else if (isList && tamper === 'replay' && savedList !== undefined) {
                body = savedList;
              } else if (tamper === 'tar' && (incoming.url ?? '').endsWith('.tar') && body.length > 600) {
                body = Buffer.from(body);
                body[600] = (body[600] ?? 0) ^ 0x01;
              }
              const headers = { ...answer.headers, 'content-length': String(body.length) };
              outgoing.writeHead(answer.statusCode ?? 502, headers);
              outgoing.end(body);
            });
          },
        );
        upstream.end(Buffer.concat(chunks));
      });
    });
    const proxyPort = await freePort();
    await new Promise<void>((ready) => proxy?.listen(proxyPort, '127.0.0.1', ready));
    proxyUrl = `http://127.0.0.1:${proxyPort}`;
  }, 90_000);

  afterAll(async () => {
    await new Promise((done) => (proxy === undefined ? done(undefined) : proxy.close(done)));
    if (site !== undefined) await stopProcess(site);
    await rm(root, { recursive: true, force: true });
  });

  it('the script is POSIX sh and shellcheck-clean (where shellcheck is installed)', () => {
    execFileSync('sh', ['-n', script]);
    if (existsSync('/usr/bin/shellcheck')) {
      execFileSync('/usr/bin/shellcheck', ['--shell=sh', script], { encoding: 'utf8' });
    }
  });

  it('is disabled by default: every legacy endpoint refuses, and the audit facts say so', async () => {
    const answer = await fetch(`${siteUrl}/legacy/v1/register`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'steward-legacy-register/v1\n',
    });
    expect(answer.status).toBe(403);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe(
      'ERR_LEGACY_CLIENTS_DISABLED',
    );
    const status = await stewardJson<{ enabled: boolean; clients: { total: number } }>([
      'site',
      'legacy-clients',
      'status',
      '--data',
      dataDir,
    ]);
    expect(status).toMatchObject({ enabled: false, allowUnverified: false, clients: { total: 0 } });
  });

  it('enrols, receives a deployment, verifies it, runs it and reports; tampering and replays are refused', async () => {
    expect(
      (await stewardJson<{ enabled: boolean }>(['site', 'legacy-clients', 'enable', '--data', dataDir]))
        .enabled,
    ).toBe(true);
    const keyFile = join(root, 'site-key.pem');
    await stewardJson(['site', 'legacy-clients', 'key', '--data', dataDir, '--out', keyFile]);
    expect(await readFile(keyFile, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const issued = await stewardJson<{ token: string }>([
      'site',
      'legacy-clients',
      'token',
      '--data',
      dataDir,
      '--uses',
      '3',
    ]);
    const tokenFile = join(root, 'legacy-token');
    await writeFile(tokenFile, `${issued.token}\n`);

    const clientDir = join(root, 'client-a');
    const enrol = await legacy([
      'enroll',
      '--data',
      clientDir,
      '--site',
      proxyUrl,
      '--site-key',
      keyFile,
      '--token-file',
      tokenFile,
      '--hostname',
      'legacy-a',
    ]);
    expect(enrol.stderr).toBe('');
    expect(enrol.code).toBe(0);
    const clientId = /legacy client ([0-9a-f]{64})/.exec(enrol.stdout)?.[1] ?? '';
    expect(clientId).toMatch(/^[0-9a-f]{64}$/);
    const secret = (await readFile(join(clientDir, 'auth-header'), 'utf8')).split(' ').at(-1)?.trim() ?? '';
    expect(secret).toMatch(/^[0-9a-f]{64}$/);

    const source = join(root, 'source');
    await mkdir(source);
    await writeFile(
      join(source, 'install.sh'),
      'printf "%s|%s\\n" "$1" "$STEWARD_PACKAGE_DIR" >> "$STEWARD_PACKAGE_DIR/../../../installed.txt"\necho installed\n',
    );
    await writeFile(join(source, 'evil.sh'), 'echo evil >> "$STEWARD_PACKAGE_DIR/../../../evil.txt"\n');
    const pkg = await stewardJson<{ packageId: string }>([
      'package',
      'create',
      '--data',
      dataDir,
      '--source',
      source,
      '--name',
      'legacy-tool',
      '--version',
      '1.0',
      '--program',
      'install=sh install.sh "two  spaces"',
    ]);
    const collection = await stewardJson<{ id: string }>([
      'collection',
      'create',
      '--data',
      dataDir,
      '--name',
      'legacy machines',
      '--client',
      clientId,
    ]);
    const deployment = await stewardJson<{ id: string }>([
      'deployment',
      'create',
      '--data',
      dataDir,
      '--package',
      pkg.packageId,
      '--program',
      'install',
      '--collection',
      collection.id,
      '--mandatory',
      '--rerun',
      'always',
    ]);
    const installed = join(clientDir, 'installed.txt');

    // A list altered on the way (the command line swapped): the signature check refuses it.
    tamper = 'list-command';
    const altered = await legacy(['run', '--data', clientDir]);
    expect(altered.code).not.toBe(0);
    expect(altered.stderr).toMatch(/^error ERR_LEGACY_SIGNATURE_INVALID: /m);
    expect(existsSync(join(clientDir, 'evil.txt'))).toBe(false);
    expect(existsSync(installed)).toBe(false);

    // A damaged signature: refused the same way.
    tamper = 'list-signature';
    const badSignature = await legacy(['run', '--data', clientDir]);
    expect(badSignature.stderr).toMatch(/^error ERR_LEGACY_SIGNATURE_INVALID: /m);
    expect(existsSync(installed)).toBe(false);

    // A tar altered on the way: its SHA-256 differs from the signed list; nothing runs.
    tamper = 'tar';
    const badTar = await legacy(['run', '--data', clientDir]);
    expect(badTar.code).toBe(3);
    expect(badTar.stderr).toMatch(/^error ERR_LEGACY_HASH_MISMATCH: /m);
    expect(existsSync(installed)).toBe(false);
    expect(existsSync(join(clientDir, 'packages', pkg.packageId, '1.0'))).toBe(false);

    // The real thing: verified, unpacked, run, reported.
    tamper = 'none';
    savedList = undefined;
    const good = await legacy(['run', '--data', clientDir]);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(`${deployment.id}: succeeded (exit code 0)`);
    const packageDir = join(clientDir, 'packages', pkg.packageId, '1.0');
    expect(await readFile(installed, 'utf8')).toBe(`two  spaces|${packageDir}\n`);

    const status = await stewardJson<{ summary: Record<string, number> }>([
      'deployment',
      'status',
      deployment.id,
      '--data',
      dataDir,
    ]);
    expect(status.summary).toMatchObject({ targeted: 1, succeeded: 1, failed: 0 });
    const detail = await admin<{ statusMessages: { status_id: number }[] }>(`/clients/${clientId}`);
    const ids = detail.statusMessages.map((m) => m.status_id);
    // Refusals reached the site too: the altered lists (11003) and the altered tar (10053).
    expect(ids).toEqual(expect.arrayContaining([11003, 10053, 10002, 10050, 10051, 10005, 10009]));

    // The same policy version does not run twice; the next list has a higher sequence.
    const again = await legacy(['run', '--data', clientDir]);
    expect(again.code).toBe(0);
    expect(await readFile(installed, 'utf8')).toBe(`two  spaces|${packageDir}\n`);
    expect(lastList?.toString('utf8')).toMatch(/^sequence \d+$/m);

    // A replayed older list, genuinely signed: refused as a rollback.
    tamper = 'replay';
    const replayed = await legacy(['run', '--data', clientDir]);
    expect(replayed.stderr).toMatch(/^error ERR_LEGACY_ROLLBACK: /m);
    tamper = 'none';

    const facts = await admin<{ clients: { total: number; verifying: number } }>('/legacy-clients');
    expect(facts.clients).toMatchObject({ total: 1, verifying: 1, unverified: 0 });

    // Without openssl the client refuses to run anything, unless told to run unverified, and then
    // the site refuses it deployments until the administrator allows that too; both are counted.
    const plainDir = join(root, 'client-b');
    const refusedEnrol = await legacy(
      ['enroll', '--data', plainDir, '--site', proxyUrl, '--site-key', keyFile, '--token-file', tokenFile],
      withoutOpenssl,
    );
    expect(refusedEnrol.stderr).toMatch(/^error ERR_LEGACY_NO_VERIFIER: /m);
    expect(existsSync(join(plainDir, 'config'))).toBe(false);
    const insecureEnrol = await legacy(
      [
        'enroll',
        '--data',
        plainDir,
        '--site',
        proxyUrl,
        '--site-key',
        keyFile,
        '--token-file',
        tokenFile,
        '--hostname',
        'legacy-b',
        '--insecure-no-signatures',
      ],
      withoutOpenssl,
    );
    expect(insecureEnrol.code).toBe(0);
    const plainId = /legacy client ([0-9a-f]{64})/.exec(insecureEnrol.stdout)?.[1] ?? '';
    await admin(`/collections/${collection.id}/members`, {
      method: 'POST',
      body: JSON.stringify({ clientIds: [plainId] }),
    });
    const noVerifier = await legacy(['run', '--data', plainDir], withoutOpenssl);
    expect(noVerifier.stderr).toMatch(/^error ERR_LEGACY_NO_VERIFIER: /m);
    const unverifiedRefused = await legacy(
      ['run', '--data', plainDir, '--insecure-no-signatures'],
      withoutOpenssl,
    );
    expect(unverifiedRefused.stderr).toMatch(/^error ERR_LEGACY_UNVERIFIED_REFUSED: /m);
    const counted = await stewardJson<{ clients: { total: number; verifying: number; unverified: number } }>([
      'site',
      'legacy-clients',
      'status',
      '--data',
      dataDir,
    ]);
    expect(counted.clients).toMatchObject({ total: 2, verifying: 1, unverified: 1 });
    await stewardJson(['site', 'legacy-clients', 'enable', '--allow-unverified', '--data', dataDir]);
    const unverifiedRun = await legacy(
      ['run', '--data', plainDir, '--insecure-no-signatures'],
      withoutOpenssl,
    );
    expect(unverifiedRun.stderr).toMatch(/UNVERIFIED/);
    expect(unverifiedRun.code).toBe(0);
    expect(await readFile(join(plainDir, 'installed.txt'), 'utf8')).toContain('two  spaces|');

    // Revoked: refused. Disabled: every client refused.
    await stewardJson(['client', 'revoke', clientId, '--data', dataDir]);
    const revoked = await legacy(['run', '--data', clientDir]);
    expect(revoked.stderr).toMatch(/^error ERR_CLIENT_REVOKED: /m);
    await stewardJson(['site', 'legacy-clients', 'disable', '--data', dataDir]);
    const disabled = await legacy(['run', '--data', plainDir, '--insecure-no-signatures'], withoutOpenssl);
    expect(disabled.stderr).toMatch(/^error ERR_LEGACY_CLIENTS_DISABLED: /m);
  }, 180_000);
});
