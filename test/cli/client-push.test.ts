/**
 * Issue 8, item 5: `steward client push` against a private sshd on loopback, started by this test
 * as root with its own host key and a configuration that lets in only root (with a test key) and a
 * test user (with a password), the target being this same machine with temporary folders for the
 * agent. Afterwards the password and the private key are searched for in the site database (every
 * table dumped), in every file the test made (site data folder, agent folders, sshd log) and in
 * everything the command printed: they are nowhere.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseLocation, openSiteDatabase } from '../../src/site/database/open.js';
import { randomToken } from '../../src/trust/index.js';
import { freePort } from '../support/postgres.js';
import { startSteward, steward, stewardJson, stopProcess, waitUntil } from './steward-cli.js';

const sshdBinary = '/usr/sbin/sshd';
const skip =
  process.getuid?.() !== 0
    ? 'running sshd and creating a test user need root'
    : !existsSync(sshdBinary)
      ? 'openssh-server is not installed (apt-get install openssh-server)'
      : undefined;

interface PushAnswer {
  target: string;
  hostKey: string;
  authentication: string;
  agentPath: string;
  clientId: string;
  state: string;
  siteCode: string;
}

describe.skipIf(skip !== undefined)(
  `steward client push over a private sshd${skip === undefined ? '' : ` [skipped: ${skip}]`}`,
  () => {
    let root = '';
    let siteDir = '';
    let site: ChildProcess | undefined;
    let sshd: ChildProcess | undefined;
    let sshPort = 0;
    let hostKey = '';
    let identity = '';
    let passwordFile = '';
    let password = '';
    let userCreated = false;
    const user = `stpush${randomToken(4)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, 'x')}`;
    const printed: string[] = [];

    const push = async (args: string[]) => {
      const result = await steward(['client', 'push', '--port', String(sshPort), '--data', siteDir, ...args]);
      printed.push(result.stdout, result.stderr);
      return result;
    };

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'steward-push-'));
      await chmod(root, 0o755);
      siteDir = join(root, 'site');
      const port = await freePort();
      await stewardJson([
        'site',
        'init',
        '--data',
        siteDir,
        '--code',
        'PSH',
        '--listen',
        `127.0.0.1:${port}`,
      ]);
      site = startSteward(['site', 'start', '--data', siteDir]);
      await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, 30_000, 'the site');

      const sshDir = join(root, 'sshd');
      await mkdir(sshDir, { mode: 0o700 });
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(sshDir, 'host_key')]);
      hostKey = execFileSync('ssh-keygen', ['-lf', join(sshDir, 'host_key.pub')], { encoding: 'utf8' }).split(
        ' ',
      )[1]!;
      identity = join(root, 'push_identity');
      execFileSync('ssh-keygen', [
        '-q',
        '-t',
        'ed25519',
        '-N',
        '',
        '-C',
        'steward-push-test',
        '-f',
        identity,
      ]);
      await writeFile(join(sshDir, 'authorized_keys'), await readFile(`${identity}.pub`), { mode: 0o600 });

      // A test user with a random password, removed again in afterAll.
      password = `Pw-${randomToken(18)}`;
      passwordFile = join(root, 'push_password');
      await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
      const home = join(root, 'home');
      execFileSync('useradd', ['--home-dir', home, '--create-home', '--shell', '/bin/sh', user]);
      userCreated = true;
      execFileSync('chpasswd', [], { input: `${user}:${password}\n` });

      await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
      sshPort = await freePort();
      const config = join(sshDir, 'sshd_config');
      await writeFile(
        config,
        [
          'ListenAddress 127.0.0.1',
          `HostKey ${join(sshDir, 'host_key')}`,
          `PidFile ${join(sshDir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${join(sshDir, 'authorized_keys')}`,
          `AllowUsers root ${user}`,
          'PermitRootLogin prohibit-password',
          'PasswordAuthentication yes',
          'PermitEmptyPasswords no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'StrictModes no',
          'LogLevel VERBOSE',
          'Subsystem sftp internal-sftp',
          '',
        ].join('\n'),
      );
      sshd = spawn(sshdBinary, ['-D', '-f', config, '-p', String(sshPort), '-E', join(sshDir, 'sshd.log')], {
        stdio: 'ignore',
      });
      await waitUntil(
        () =>
          new Promise<boolean>((resolveUp) => {
            const socket = connect(sshPort, '127.0.0.1', () => {
              socket.destroy();
              resolveUp(true);
            });
            socket.on('error', () => resolveUp(false));
          }),
        15_000,
        'sshd',
      );
    }, 90_000);

    afterAll(async () => {
      if (sshd !== undefined) await stopProcess(sshd);
      if (site !== undefined) await stopProcess(site);
      if (userCreated) execFileSync('userdel', [user]);
      await rm(root, { recursive: true, force: true });
    });

    it('refuses a host whose key was not given, before sending any credential', async () => {
      const log = join(root, 'sshd', 'sshd.log');
      const before = await readFile(log, 'utf8');
      const refused = await push([
        '--ssh',
        `root@127.0.0.1`,
        '--identity',
        identity,
        '--host-key',
        'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      ]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/^error ERR_PUSH_HOST_KEY: /m);
      expect(refused.stderr).toContain(hostKey);
      const added = (await readFile(log, 'utf8')).slice(before.length);
      expect(added).not.toMatch(/Accepted|Failed (password|publickey)/);
    });

    it('installs and enrols the agent as root with a key, and reports the client id', async () => {
      const agentData = join(root, 'agent-root');
      const result = await push([
        '--ssh',
        'root@127.0.0.1',
        '--identity',
        identity,
        '--host-key',
        hostKey,
        '--install-dir',
        join(root, 'install-root'),
        '--agent-data',
        agentData,
        '--json',
      ]);
      expect(result.stderr).toBe('');
      const answer = JSON.parse(result.stdout) as PushAnswer;
      expect(answer).toMatchObject({
        target: `root@127.0.0.1:${sshPort}`,
        hostKey,
        authentication: 'publickey',
        state: 'approved',
        siteCode: 'PSH',
      });
      expect(answer.clientId).toMatch(/^[0-9a-f]{64}$/);
      const agent = JSON.parse(await readFile(join(agentData, 'agent.json'), 'utf8')) as { clientId: string };
      expect(agent.clientId).toBe(answer.clientId);
      const clients = await stewardJson<{ id: string; state: string }[]>([
        'client',
        'list',
        '--data',
        siteDir,
      ]);
      expect(clients).toContainEqual(expect.objectContaining({ id: answer.clientId, state: 'approved' }));
      expect((await stat(answer.agentPath)).mode & 0o777).toBe(0o755);
    }, 120_000);

    it('installs and enrols the agent as a user with a password', async () => {
      const target = join(root, 'target-user');
      await mkdir(target);
      const { uid, gid } = await stat(join(root, 'home'));
      await chown(target, uid, gid);
      const result = await push([
        '--ssh',
        `${user}@127.0.0.1`,
        '--password-file',
        passwordFile,
        '--host-key',
        hostKey,
        '--install-dir',
        join(target, 'install'),
        '--agent-data',
        join(target, 'agent'),
        '--json',
      ]);
      expect(result.stderr).toBe('');
      const answer = JSON.parse(result.stdout) as PushAnswer;
      expect(answer).toMatchObject({ authentication: 'password', state: 'approved' });
      const agentFile = await stat(join(target, 'agent', 'agent.json'));
      expect(agentFile.uid).toBe(uid);
    }, 120_000);

    it('a wrong password is ERR_PUSH_AUTH_FAILED', async () => {
      const wrong = join(root, 'wrong_password');
      await writeFile(wrong, 'not-the-password\n', { mode: 0o600 });
      const refused = await push([
        '--ssh',
        `${user}@127.0.0.1`,
        '--password-file',
        wrong,
        '--host-key',
        hostKey,
        '--install-dir',
        join(root, 'nowhere'),
      ]);
      expect(refused.stderr).toMatch(/^error ERR_PUSH_AUTH_FAILED: /m);
      await rm(wrong);
    }, 60_000);

    it('leaves the password and the private key nowhere: not in the database, the files or the output', async () => {
      if (site !== undefined) await stopProcess(site);
      site = undefined;
      // The identity's secret: the Ed25519 seed, which the OpenSSH key file stores right before the
      // last copy of the public key; and the file's base64 lines past the first, which every
      // unencrypted ed25519 key file shares.
      const key = await readFile(identity, 'utf8');
      const body = key.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
      const decoded = Buffer.from(body.join(''), 'base64');
      const publicBlob = Buffer.from((await readFile(`${identity}.pub`, 'utf8')).split(' ')[1]!, 'base64');
      const publicKey = publicBlob.subarray(publicBlob.length - 32);
      const seedAt = decoded.lastIndexOf(publicKey) - 32;
      expect(seedAt).toBeGreaterThan(0);
      const seed = decoded.subarray(seedAt, seedAt + 32);
      const keyLines = body.slice(1).filter((line) => line.length >= 20);
      expect(keyLines.length).toBeGreaterThan(2);
      const needles: (string | Buffer)[] = [
        password,
        Buffer.from(password).toString('base64'),
        seed,
        seed.toString('hex'),
        seed.toString('base64'),
        ...keyLines,
      ];

      const handle = await openSiteDatabase(databaseLocation(undefined, join(siteDir, 'database')));
      let dump = '';
      try {
        const tables = await sql<{ table_name: string }>`
          select table_name from information_schema.tables where table_schema = 'public'`.execute(handle.db);
        expect(tables.rows.length).toBeGreaterThan(20);
        for (const { table_name: table } of tables.rows) {
          const rows = await sql`select * from ${sql.table(table)}`.execute(handle.db);
          dump += `${table}\n${JSON.stringify(rows.rows)}\n`;
        }
      } finally {
        await handle.close();
      }
      expect(dump).toContain('client push to'); // the one-use enrolment token's description is there
      for (const needle of needles) expect(Buffer.from(dump).includes(needle)).toBe(false);

      const files: string[] = [];
      const walk = async (dir: string): Promise<void> => {
        for (const entry of await readdir(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) await walk(path);
          else if (entry.isFile()) files.push(path);
        }
      };
      await walk(root);
      const own = new Set([identity, `${identity}.pub`, passwordFile]);
      // The search finds what it looks for: the credential files themselves hold the needles.
      expect((await readFile(passwordFile)).includes(password)).toBe(true);
      expect((await readFile(identity)).includes(keyLines[0]!)).toBe(true);
      const searched = files.filter((file) => !own.has(file));
      expect(searched.some((file) => file.endsWith('agent.json'))).toBe(true);
      expect(searched.some((file) => file.endsWith('sshd.log'))).toBe(true);
      for (const file of searched) {
        const bytes = await readFile(file);
        for (const needle of needles) {
          expect({ file, found: bytes.includes(needle) }).toEqual({ file, found: false });
        }
      }
      for (const output of printed) {
        for (const needle of needles) expect(Buffer.from(output).includes(needle)).toBe(false);
      }
    }, 120_000);
  },
);
