import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportBatchAnswerSchema, type ReportBatchAnswer } from '../../../src/protocol/index.js';
import { SigningKey } from '../../../src/trust/index.js';
import { addClient, expectError, startManagementPoint, type MpFixture } from '../../support/site-fixture.js';
import {
  forgedEnvelope,
  tamperedEnvelope,
  TestClient,
  unsignedEnvelope,
  type SignedReport,
} from '../../support/test-pki.js';

const hour = 3600 * 1000;
const day = 24 * hour;

describe('management point: reports (S2)', () => {
  let mp: MpFixture;
  const approved = new TestClient('rep-approved');
  const other = new TestClient('rep-other');
  const pending = new TestClient('rep-pending');
  const revoked = new TestClient('rep-revoked');

  beforeAll(async () => {
    mp = await startManagementPoint();
    await addClient(mp.db, approved, 'approved');
    await addClient(mp.db, other, 'approved');
    await addClient(mp.db, pending, 'pending');
    await addClient(mp.db, revoked, 'revoked');
  });
  afterAll(async () => {
    await mp.close();
  });

  async function post(reports: readonly string[]): Promise<ReportBatchAnswer> {
    const response = await mp.postReports(reports);
    expect(response.statusCode).toBe(200);
    return reportBatchAnswerSchema.parse(response.json());
  }
  const inboxIds = async () =>
    (await mp.db.selectFrom('report_inbox').select('message_id').execute()).map((r) => r.message_id).sort();

  it('S2 stores a verified report, acknowledges it and wakes the processor', async () => {
    const report = approved.heartbeat();
    const woken = mp.reportsStored.count;
    const answer = await post([report.encoded]);
    expect(answer).toEqual({
      results: [{ messageId: report.messageId, status: 'stored', code: null }],
      fullInventoryRequested: false,
    });
    expect(mp.reportsStored.count).toBe(woken + 1);
    const row = await mp.db
      .selectFrom('report_inbox')
      .selectAll()
      .where('message_id', '=', report.messageId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      client_id: approved.id,
      report_type: 'heartbeat',
      sequence: report.sequence,
      envelope: report.encoded,
      processed_at: null,
    });
  });

  it('S2 a replayed report is acknowledged as a duplicate and stored once', async () => {
    const report = approved.heartbeat();
    await post([report.encoded]);
    const woken = mp.reportsStored.count;
    const again = await post([report.encoded]);
    expect(again.results).toEqual([{ messageId: report.messageId, status: 'duplicate', code: null }]);
    expect(mp.reportsStored.count).toBe(woken);
    const rows = await mp.db
      .selectFrom('report_inbox')
      .select('message_id')
      .where('message_id', '=', report.messageId)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('S2 the same new report twice in one batch is stored once: the second is a duplicate', async () => {
    const report = approved.heartbeat();
    const answer = await post([report.encoded, report.encoded]);
    expect(answer.results.map((r) => r.status)).toEqual(['stored', 'duplicate']);
  });

  it('S2 a batch is answered report by report, in request order', async () => {
    const good = approved.heartbeat();
    const bad = pending.heartbeat();
    const good2 = other.heartbeat();
    const answer = await post([good.encoded, bad.encoded, good2.encoded]);
    expect(answer.results).toEqual([
      { messageId: good.messageId, status: 'stored', code: null },
      { messageId: null, status: 'rejected', code: 'ERR_CLIENT_NOT_APPROVED' },
      { messageId: good2.messageId, status: 'stored', code: null },
    ]);
    expect(await inboxIds()).not.toContain(bad.messageId);
  });

  const stranger = SigningKey.generate();
  const rejections: [string, () => SignedReport | string, string][] = [
    [
      'signed by a key no client registered',
      () => approved.heartbeat({ signer: stranger }),
      'ERR_UNKNOWN_CLIENT',
    ],
    [
      'claiming a registered key but signed by another (forged)',
      () => forgedEnvelope(approved.heartbeat().encoded, approved.id, stranger),
      'ERR_SIGNATURE_INVALID',
    ],
    [
      'signed by one client in the name of another',
      () => other.heartbeat({ clientId: approved.id }),
      'ERR_PAYLOAD_INVALID',
    ],
    ['altered after signing', () => tamperedEnvelope(approved.heartbeat().encoded), 'ERR_SIGNATURE_INVALID'],
    ['unsigned', () => unsignedEnvelope(approved.heartbeat().encoded), 'ERR_ENVELOPE_INVALID'],
    ['from an unapproved client', () => pending.heartbeat(), 'ERR_CLIENT_NOT_APPROVED'],
    ['from a revoked client', () => revoked.heartbeat(), 'ERR_CLIENT_REVOKED'],
    ['expired', () => approved.heartbeat({ issuedAgoMs: 2 * hour, validForMs: hour }), 'ERR_EXPIRED'],
    ['issued in the future', () => approved.heartbeat({ issuedAgoMs: -hour }), 'ERR_NOT_YET_VALID'],
    [
      'valid for longer than the replay window',
      () => approved.heartbeat({ validForMs: 8 * day }),
      'ERR_REPORT_EXPIRED',
    ],
    ['addressed to another site', () => approved.heartbeat({ siteCode: 'XYZ' }), 'ERR_WRONG_SITE'],
    ['a malformed envelope', () => '{"payloadType": 1}', 'ERR_ENVELOPE_INVALID'],
    ['not JSON at all', () => 'hello, site', 'ERR_ENVELOPE_INVALID'],
    [
      'a body that does not match its type',
      () => approved.report('heartbeat', { uptime: 'long' }),
      'ERR_REPORT_REJECTED',
    ],
    [
      'a status body without messages',
      () => approved.report('status', { messages: [] }),
      'ERR_REPORT_REJECTED',
    ],
    ['a registration offered as a report', () => approved.registration(), 'ERR_PAYLOAD_TYPE'],
  ];

  for (const [what, make, code] of rejections) {
    it(`S2 rejects a report ${what} (${code}) and stores nothing`, async () => {
      const made = make();
      const encoded = typeof made === 'string' ? made : made.encoded;
      const before = await inboxIds();
      const woken = mp.reportsStored.count;
      const answer = await post([encoded]);
      expect(answer.results).toEqual([{ messageId: null, status: 'rejected', code }]);
      expect(await inboxIds()).toEqual(before);
      expect(mp.reportsStored.count).toBe(woken);
    });
  }

  it('C6 refuses a batch that is empty, too long or not a batch, before reading any report', async () => {
    const before = await inboxIds();
    expectError(await mp.postReports([]), 400, 'ERR_INVALID_REQUEST');
    const many = Array.from({ length: 101 }, () => approved.heartbeat().encoded);
    expectError(await mp.postReports(many), 400, 'ERR_INVALID_REQUEST');
    expectError(
      await mp.app.inject({
        method: 'POST',
        url: '/mp/v1/reports',
        payload: { reports: ['x'.repeat(10)], extra: 1 },
      }),
      400,
      'ERR_INVALID_REQUEST',
    );
    expectError(
      await mp.app.inject({ method: 'POST', url: '/mp/v1/reports', payload: [approved.heartbeat().encoded] }),
      400,
      'ERR_INVALID_REQUEST',
    );
    expect(await inboxIds()).toEqual(before);
  });
});
