/**
 * Issue 3, done when: the real `steward site start` process is killed with SIGKILL right after it
 * acknowledged reports, and after a restart every acknowledged report is stored exactly once and
 * processed (DESIGN.md section 6). Also: a second `site start` on the same data folder is refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportBatchAnswerSchema, type ReportResult } from '../../src/protocol/index.js';
import { openSiteDatabase } from '../../src/site/database/open.js';
import { initCentralSite, type SiteInitResult } from '../../src/site/init/site-init.js';
import { freePort } from '../support/postgres.js';
import { testKeyFileCost } from '../support/site-fixture.js';
import { fullInventory, statusMessage, TestClient, type SignedReport } from '../support/test-pki.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const steward = join(repoRoot, 'bin', 'steward.mjs');

interface SiteProcess {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe('steward site start survives SIGKILL (issue 3)', () => {
  let dir: string;
  let dataDir: string;
  let init: SiteInitResult;
  let url: string;
  let port: number;
  let token: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'steward-sigkill-'));
    dataDir = join(dir, 'data');
    init = await initCentralSite({
      dataDir,
      code: 'ABC',
      name: 'Durability',
      listen: '127.0.0.1:0',
      publicUrl: null,
      database: null,
      passphrase: null,
      approval: 'token',
      now: new Date(),
      keyFileCost: testKeyFileCost,
    });
    token = (JSON.parse(await readFile(init.credentialsPath, 'utf8')) as { token: string }).token;
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    for (const child of children) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, 'SIGKILL');
        await new Promise((done) => child.once('exit', done));
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  function spawnSite(listenPort: number): SiteProcess {
    const child = spawn(
      process.execPath,
      [
        steward,
        'site',
        'start',
        '--data',
        dataDir,
        '--listen',
        `127.0.0.1:${listenPort}`,
        '--log-level',
        'error',
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STEWARD_DEBUG: '1' } },
    );
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.resume();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.once('exit', (code, signal) => done({ code, signal })),
    );
    return { child, stderr: () => stderr, exited };
  }

  async function startSite(): Promise<SiteProcess> {
    const site = spawnSite(port);
    const state = { exited: false };
    void site.exited.then(() => (state.exited = true));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (state.exited) throw new Error(`steward site start exited: ${site.stderr()}`);
      try {
        const response = await fetch(`${url}/health`);
        if (response.ok) return site;
      } catch {
        // not listening yet
      }
      await new Promise((done) => setTimeout(done, 100));
    }
    throw new Error(`steward site start did not answer within 60 s: ${site.stderr()}`);
  }

  async function kill(site: SiteProcess, signal: NodeJS.Signals): Promise<void> {
    if (site.child.pid === undefined) throw new Error('no pid');
    process.kill(site.child.pid, signal);
    const exit = await site.exited;
    // SIGKILL cannot be handled; SIGTERM stops the site cleanly with status 0.
    expect(exit).toEqual(
      signal === 'SIGKILL' ? { code: null, signal: 'SIGKILL' } : { code: 0, signal: null },
    );
  }

  async function postReports(reports: readonly SignedReport[]): Promise<ReportResult[]> {
    const response = await fetch(`${url}/mp/v1/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reports: reports.map((r) => r.encoded) }),
    });
    expect(response.status).toBe(200);
    return reportBatchAnswerSchema.parse(await response.json()).results;
  }

  async function admin<T>(path: string): Promise<T> {
    const response = await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as T;
  }

  it(
    'refuses a second site start on the same folder with ERR_DATA_FOLDER_LOCKED while the first runs',
    { timeout: 90_000 },
    async () => {
      const first = await startSite();
      const second = spawnSite(await freePort());
      const { code } = await second.exited;
      expect(code).not.toBe(0);
      expect(second.stderr()).toMatch(/^error ERR_DATA_FOLDER_LOCKED: /m);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      await kill(first, 'SIGTERM');
    },
  );

  it(
    'stores every acknowledged report exactly once and processes it after a SIGKILL and a restart',
    { timeout: 120_000 },
    async () => {
      let site = await startSite();
      const client = new TestClient('durable-1');
      const registered = await fetch(`${url}/mp/v1/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ registration: client.registration({ enrolmentToken: init.enrolmentToken }) }),
      });
      expect(await registered.json()).toEqual({ clientId: client.id, state: 'approved' });

      // Six batches of twenty reports, sent at once; the server is killed the moment they are answered.
      const batches: SignedReport[][] = [];
      for (let batch = 0; batch < 6; batch += 1) {
        const reports: SignedReport[] = [];
        for (let i = 0; i < 20; i += 1) {
          const n = batch * 20 + i;
          if (n % 3 === 0) reports.push(client.heartbeat({}, { uptimeSeconds: n }));
          else if (n % 3 === 1)
            reports.push(
              client.status([
                statusMessage('root-first-use', null, new Date(), { insertionStrings: [`n=${n}`] }),
              ]),
            );
          else reports.push(client.inventory(fullInventory({ 'test.counter': n })));
        }
        batches.push(reports);
      }
      const answers = await Promise.all(batches.map((reports) => postReports(reports)));
      await kill(site, 'SIGKILL');

      const all = batches.flat();
      const results = answers.flat();
      expect(results.map((r) => r.status)).toEqual(all.map(() => 'stored'));
      const acknowledged = results.map((r) => r.messageId ?? '');
      expect(acknowledged).toEqual(all.map((r) => r.messageId));
      const statusReports = all.filter((_, n) => n % 3 === 1).map((r) => r.messageId);

      // Restart: the agent resends what it sent (it may not have seen the answers); all are duplicates.
      site = await startSite();
      for (const reports of batches) {
        expect((await postReports(reports)).map((r) => r.status)).toEqual(reports.map(() => 'duplicate'));
      }

      // The inbox processor resumes: every status message arrives, once.
      const deadline = Date.now() + 30_000;
      let seen = 0;
      while (Date.now() < deadline) {
        const page = await admin<{ items: { message_id: string }[] }>(
          `/status-messages?clientId=${client.id}&limit=500`,
        );
        seen = page.items.length;
        if (seen >= statusReports.length) break;
        await new Promise((done) => setTimeout(done, 100));
      }
      expect(seen).toBe(statusReports.length);
      const detail = await admin<{ inventory: { facts: Record<string, string> } }>(`/clients/${client.id}`);
      expect(detail.inventory.facts['test.counter']).toMatch(/^\d+$/);
      await kill(site, 'SIGTERM');

      // With the server stopped, the database itself shows each acknowledged report once, processed.
      const database = await openSiteDatabase(
        { kind: 'pglite', dataDir: join(dataDir, 'database') },
        { migrate: false },
      );
      try {
        const inbox = await database.db
          .selectFrom('report_inbox')
          .select(['message_id', 'processed_at'])
          .where('client_id', '=', client.id)
          .execute();
        expect(inbox.map((r) => r.message_id).sort()).toEqual([...acknowledged].sort());
        expect(inbox.filter((r) => r.processed_at === null)).toEqual([]);
        const statuses = await database.db
          .selectFrom('status_messages')
          .select('message_id')
          .where('client_id', '=', client.id)
          .execute();
        expect(statuses.map((s) => s.message_id).sort()).toEqual(statusReports.map((id) => `${id}:0`).sort());
        const history = await database.db
          .selectFrom('inventory_history')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('client_id', '=', client.id)
          .executeTakeFirstOrThrow();
        expect(history.n).toBe(all.filter((_, n) => n % 3 === 2).length);
      } finally {
        await database.close();
      }
    },
  );
});
