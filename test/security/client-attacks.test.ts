/**
 * Issue 5, attack 7: clients attacking the site. A real site (`steward site start`) over loopback;
 * the attackers sign exactly as agents do (test/support/test-pki.ts). Every attack is refused with
 * a stable code, and what the site stores is checked through the admin API afterwards: nothing of
 * the attacker's, and every genuine report exactly once.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  managementPointPaths,
  reportBatchAnswerSchema,
  type ReportResult,
} from '../../src/protocol/index.js';
import { randomId, signDocument, SigningKey } from '../../src/trust/index.js';
import { httpRequest, type HttpAnswer } from '../support/http-client.js';
import { createSiteProcessWith, type KillableSiteProcess } from '../support/site-process-options.js';
import { stopAllStewardProcesses, waitUntil } from '../support/steward-process.js';
import { forgedEnvelope, statusMessage, TestClient, unsignedEnvelope } from '../support/test-pki.js';

const siteCode = 'SCA';
let site: KillableSiteProcess;
const alice = new TestClient('alice', siteCode);
const bob = new TestClient('bob', siteCode);
const waiting = new TestClient('waiting', siteCode);
const revoked = new TestClient('revoked', siteCode);

const register = (registration: string, localAddress = '127.0.0.1') =>
  httpRequest(`${site.url}${managementPointPaths.register}`, { body: { registration }, localAddress });
const postReports = (reports: readonly string[]) =>
  httpRequest(`${site.url}${managementPointPaths.reports}`, { body: { reports } });
const poll = (clientId: string, etag?: string) =>
  httpRequest(`${site.url}${managementPointPaths.policy(clientId)}`, {
    headers: etag === undefined ? {} : { 'if-none-match': etag },
  });

async function results(reports: readonly string[]): Promise<ReportResult[]> {
  const answer = await postReports(reports);
  expect(answer.status, answer.text).toBe(200);
  return reportBatchAnswerSchema.parse(answer.json()).results;
}

function expectRefused(answer: HttpAnswer, status: number, code: string): void {
  expect({ status: answer.status, body: answer.text }).toMatchObject({ status });
  expect((answer.json() as { error: { code: string } }).error.code).toBe(code);
}

/** A status report whose one message carries `marker`, so the site's copy can be found. */
function markedStatus(client: TestClient, marker: string, options: Parameters<TestClient['status']>[1] = {}) {
  return client.status(
    [statusMessage('policy-received', null, new Date(), { insertionStrings: [marker] })],
    options,
  );
}

interface SiteStatus {
  message_id: string;
  client_id: string | null;
  insertion_strings: string[];
}

async function statusOf(clientId: string): Promise<SiteStatus[]> {
  const page = await site.api<{ items: SiteStatus[] }>(
    'GET',
    `/status-messages?clientId=${clientId}&limit=500`,
  );
  return page.items;
}

async function withMarker(marker: string): Promise<SiteStatus[]> {
  const all: SiteStatus[] = [];
  for (const client of [alice, bob, waiting, revoked]) all.push(...(await statusOf(client.id)));
  return all.filter((m) => m.insertion_strings.includes(marker));
}

/** Waits until the inbox processor has applied everything stored so far (a sentinel report arrives). */
async function inboxDrained(): Promise<void> {
  const sentinel = `sentinel-${randomId().slice(0, 8)}`;
  const [result] = await results([markedStatus(alice, sentinel).encoded]);
  expect(result?.status).toBe('stored');
  await waitUntil(async () => (await withMarker(sentinel)).length === 1, 'the inbox to drain', 30_000);
}

async function clientCount(): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const page: { items: unknown[]; next: string | null } = await site.api(
      'GET',
      `/clients?limit=500${cursor === null ? '' : `&after=${cursor}`}`,
    );
    count += page.items.length;
    cursor = page.next;
  } while (cursor !== null);
  return count;
}

beforeAll(async () => {
  site = await createSiteProcessWith(siteCode);
  for (const client of [alice, bob, revoked]) {
    const answer = await register(client.registration({ enrolmentToken: site.init.enrolmentToken }));
    expect(answer.json()).toEqual({ clientId: client.id, state: 'approved' });
  }
  expect((await register(waiting.registration())).json()).toEqual({ clientId: waiting.id, state: 'pending' });
  await site.api('POST', `/clients/${revoked.id}/revoke`);
});

afterAll(async () => {
  await stopAllStewardProcesses();
  const started = site as KillableSiteProcess | undefined;
  if (started !== undefined) await rm(started.dir, { recursive: true, force: true });
});

describe('attack 7: clients against a real site', { timeout: 60_000 }, () => {
  it('S2 a report signed with another client key is refused, and a forged key id fails the signature', async () => {
    const marker = `impostor-${randomId().slice(0, 8)}`;
    // Bob signs a report that names Alice: his key verifies it, the named client does not match.
    const namesAlice = markedStatus(alice, marker, { signer: bob.key });
    // Bob claims Alice's key id in the signature: Alice's key does not verify Bob's signature.
    const forged = forgedEnvelope(markedStatus(alice, marker).encoded, alice.id, bob.key);
    // A key registered nowhere signs a report naming Alice.
    const stranger = markedStatus(alice, marker, { signer: SigningKey.generate() });
    // Bob's own report, claiming to come from Alice in its body: still only Bob can have sent it.
    const bodyClaims = bob.report('heartbeat', { hostname: 'alice' }, { clientId: alice.id });
    expect(await results([namesAlice.encoded, forged, stranger.encoded, bodyClaims.encoded])).toEqual([
      { messageId: null, status: 'rejected', code: 'ERR_PAYLOAD_INVALID' },
      { messageId: null, status: 'rejected', code: 'ERR_SIGNATURE_INVALID' },
      { messageId: null, status: 'rejected', code: 'ERR_UNKNOWN_CLIENT' },
      { messageId: null, status: 'rejected', code: 'ERR_PAYLOAD_INVALID' },
    ]);
    await inboxDrained();
    expect(await withMarker(marker)).toEqual([]);
  });

  it('S2 a replayed report is acknowledged as a duplicate and the site holds its message exactly once', async () => {
    const marker = `replay-${randomId().slice(0, 8)}`;
    const report = markedStatus(alice, marker);
    expect((await results([report.encoded]))[0]).toEqual({
      messageId: report.messageId,
      status: 'stored',
      code: null,
    });
    // Replayed alone, several times in one batch, and by another client reusing its message id.
    const again = await results([report.encoded]);
    const batch = await results([report.encoded, report.encoded, report.encoded]);
    const squatter = markedStatus(bob, marker, { messageId: report.messageId });
    const reused = await results([squatter.encoded]);
    for (const result of [...again, ...batch, ...reused])
      expect(result).toEqual({ messageId: report.messageId, status: 'duplicate', code: null });
    await inboxDrained();
    const stored = await withMarker(marker);
    expect(stored.map((m) => [m.message_id, m.client_id])).toEqual([[`${report.messageId}:0`, alice.id]]);
  });

  it('S2 a stale report cannot be replayed: expired, or claiming a validity longer than the replay window', async () => {
    const marker = `stale-${randomId().slice(0, 8)}`;
    const expired = markedStatus(alice, marker, { issuedAgoMs: 2 * 3600_000, validForMs: 3600_000 });
    const tooLong = markedStatus(alice, marker, { validForMs: 30 * 24 * 3600_000 });
    const future = markedStatus(alice, marker, { issuedAgoMs: -3600_000 });
    expect(await results([expired.encoded, tooLong.encoded, future.encoded])).toEqual([
      { messageId: null, status: 'rejected', code: 'ERR_EXPIRED' },
      { messageId: null, status: 'rejected', code: 'ERR_REPORT_EXPIRED' },
      { messageId: null, status: 'rejected', code: 'ERR_NOT_YET_VALID' },
    ]);
    await inboxDrained();
    expect(await withMarker(marker)).toEqual([]);
  });

  it('S1 S2 a revoked or unapproved client gets no policy and its reports are refused; registering again changes nothing', async () => {
    const marker = `outsider-${randomId().slice(0, 8)}`;
    expect(
      await results([markedStatus(waiting, marker).encoded, markedStatus(revoked, marker).encoded]),
    ).toEqual([
      { messageId: null, status: 'rejected', code: 'ERR_CLIENT_NOT_APPROVED' },
      { messageId: null, status: 'rejected', code: 'ERR_CLIENT_REVOKED' },
    ]);
    expectRefused(await poll(revoked.id), 403, 'ERR_CLIENT_REVOKED');
    // A pending client gets a signed, empty list (it learns nothing to run).
    const pending = await poll(waiting.id);
    expect(pending.status).toBe(200);
    expect(pending.text).toContain('"payloadType":"application/vnd.steward.policy-assignments+json"');
    // The revoked client registers again with a valid enrolment token: still revoked.
    const token = await site.api<{ token: string }>('POST', '/enrolment-tokens', { uses: 1 });
    expect((await register(revoked.registration({ enrolmentToken: token.token }))).json()).toEqual({
      clientId: revoked.id,
      state: 'revoked',
    });
    expectRefused(await poll(revoked.id), 403, 'ERR_CLIENT_REVOKED');
    await inboxDrained();
    expect(await withMarker(marker)).toEqual([]);
  });

  it('S1 a registration without proof of possession is refused and cannot take over a registered client', async () => {
    const before = await clientCount();
    const attacker = SigningKey.generate();
    const newcomer = new TestClient('no-proof', siteCode);
    expectRefused(await register(newcomer.registration({ signer: attacker })), 401, 'ERR_UNKNOWN_KEY');
    expectRefused(
      await register(forgedEnvelope(newcomer.registration(), newcomer.id, attacker)),
      401,
      'ERR_SIGNATURE_INVALID',
    );
    expectRefused(await register(unsignedEnvelope(newcomer.registration())), 400, 'ERR_ENVELOPE_INVALID');
    // Alice's public key, a new host name and a fresh token, signed by the attacker: a takeover attempt.
    const now = new Date();
    const takeover = signDocument(
      {
        kind: 'client-registration',
        version: 1,
        clientKey: alice.key.publicRecord(),
        siteCode,
        hostname: 'attacker',
        addresses: ['192.0.2.66'],
        mode: 'secure',
        rootSource: 'pinned',
        enrolmentToken: null,
        nonce: randomId().slice(0, 24),
        issuedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + 600_000).toISOString(),
      },
      [attacker],
    ).encoded;
    expectRefused(await register(takeover), 401, 'ERR_UNKNOWN_KEY');
    expect(await clientCount()).toBe(before);
    const stored = await site.api<{ client: { hostname: string; state: string } }>(
      'GET',
      `/clients/${alice.id}`,
    );
    expect(stored.client).toMatchObject({ hostname: 'alice', state: 'approved' });
  });

  it('S1 a flood of registrations is rate limited (429, retryable) while registered clients keep being served', async () => {
    const legitimate = { ok: 0, failed: [] as string[], latencies: [] as number[] };
    const flood = { running: true };
    // Registered clients poll and report throughout the flood, as agents do.
    const serveOthers = (async () => {
      const etags = new Map<string, string>();
      while (flood.running) {
        for (const client of [alice, bob]) {
          const started = performance.now();
          const policy = await poll(client.id, etags.get(client.id));
          const report = await postReports([client.heartbeat().encoded]);
          legitimate.latencies.push(performance.now() - started);
          const stored =
            report.status === 200 && (report.json() as { results: ReportResult[] }).results[0]?.status;
          if ((policy.status === 200 || policy.status === 304) && stored === 'stored') legitimate.ok += 1;
          else legitimate.failed.push(`${policy.status}/${report.status}: ${report.text.slice(0, 200)}`);
          if (policy.status === 200) etags.set(client.id, String(policy.headers['etag']));
        }
      }
    })();

    // One address, then many addresses (a distributed flood drains the site-wide bucket as well).
    const floodFrom = async (addresses: readonly string[], perAddress: number) => {
      const registrations = addresses.flatMap((address) =>
        Array.from({ length: perAddress }, (_, i) => ({
          address,
          registration: new TestClient(`flood-${address}-${i}`, siteCode).registration(),
        })),
      );
      const statuses: number[] = [];
      const codes = new Set<string>();
      let next = 0;
      await Promise.all(
        Array.from({ length: 24 }, async () => {
          while (next < registrations.length) {
            const item = registrations[next];
            next += 1;
            if (item === undefined) break;
            const answer = await register(item.registration, item.address);
            statuses.push(answer.status);
            if (answer.status === 429) {
              const body = answer.json() as { error: { code: string; retryable: boolean } };
              codes.add(`${body.error.code}/${body.error.retryable}`);
            }
          }
        }),
      );
      return { statuses, codes };
    };
    const started = performance.now();
    const single = await floodFrom(['127.0.0.9'], 300);
    const distributed = await floodFrom(
      Array.from({ length: 20 }, (_, i) => `127.0.3.${i + 1}`),
      10,
    );
    const floodMs = performance.now() - started;
    // A new machine from another address registers once the flood has passed (agents retry on 429).
    const latecomer = new TestClient('latecomer', siteCode);
    const late = await waitUntil(
      async () => {
        const answer = await register(latecomer.registration(), '127.0.0.77');
        return answer.status === 200 ? answer : undefined;
      },
      'a registration after the flood',
      20_000,
      250,
    );
    flood.running = false;
    await serveOthers;

    const count = (list: number[], status: number) => list.filter((s) => s === status).length;
    const sorted = [...legitimate.latencies].sort((a, b) => a - b);
    const p95 = sorted[Math.floor(sorted.length * 0.95)] ?? 0;
    console.log(
      `registration flood: one address ${single.statuses.length} sent, ${count(single.statuses, 429)} limited; ` +
        `20 addresses ${distributed.statuses.length} sent, ${count(distributed.statuses, 429)} limited; ` +
        `${Math.round(floodMs)} ms. Registered clients meanwhile: ${legitimate.ok} poll+report rounds ok, ` +
        `${legitimate.failed.length} failed, p95 ${Math.round(p95)} ms`,
    );
    for (const run of [single, distributed]) {
      expect(run.statuses.every((s) => s === 200 || s === 429)).toBe(true);
      expect([...run.codes].filter((c) => c !== 'ERR_RATE_LIMITED/true')).toEqual([]);
    }
    // One address: its burst of 20 and the refill (2 a second), no more. Many addresses meet the
    // site-wide bucket (200, refilling 100 a second) only past what this machine registers a second.
    expect(count(single.statuses, 200)).toBeLessThanOrEqual(20 + 2 * Math.ceil(floodMs / 1000));
    expect(count(single.statuses, 429)).toBeGreaterThan(200);
    expect(late.json()).toEqual({ clientId: latecomer.id, state: 'pending' });
    expect(legitimate.failed).toEqual([]);
    expect(legitimate.ok).toBeGreaterThan(5);
  });
});
