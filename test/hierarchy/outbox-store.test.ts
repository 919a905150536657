/**
 * The sender's durable side (DESIGN.md section 6): change capture into the outbox, batches with a
 * per-link sequence, acknowledgement. One contract suite for PGlite and PostgreSQL.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { applyStatusMessages } from '../../src/site/status/status-store.js';
import { forwardChanges } from '../../src/site/hierarchy/flows/change-capture.js';
import { createLink } from '../../src/site/hierarchy/links/link-store.js';
import {
  acknowledgeBatch,
  enqueue,
  maxBatchRecords,
  nextBatch,
} from '../../src/site/hierarchy/links/outbox.js';
import { record } from '../../src/site/hierarchy/records.js';
import { linkIsOpen, linkSettingsSchema } from '../../src/site/hierarchy/settings.js';
import { parseWindow } from '../../src/cli/commands/hierarchy-site.js';
import {
  envelopePayloadBytes,
  parseEnvelope,
  parsePayload,
  SigningKey,
  type SiteMessagePayload,
} from '../../src/trust/index.js';
import { describeEachBackend, type OpenedTestDatabase } from '../support/backends.js';

const siteKey = SigningKey.generate();
const now = new Date('2026-06-01T12:00:00.000Z');

function payloadOf(envelope: string): SiteMessagePayload {
  return parsePayload('site-message', envelopePayloadBytes(parseEnvelope(envelope)));
}

function statusIncoming(index: number) {
  return {
    messageId: `message-${index}`,
    clientId: 'c'.repeat(64),
    machine: `machine-${index}`,
    message: {
      statusId: 10001,
      deploymentId: null,
      policyVersion: null,
      occurredAt: new Date(now.getTime() + index).toISOString(),
      insertionStrings: [],
      exitCode: null,
      outputTail: null,
    },
  };
}

describeEachBackend('hierarchy outbox', (open) => {
  let database: OpenedTestDatabase;
  beforeEach(async () => {
    database = await open();
  });
  afterEach(async () => {
    await database.discard();
  });

  it('captures nothing while the site has no parent (a single site pays nothing)', async () => {
    await applyStatusMessages(database.db, 'ABC', [statusIncoming(1)], now);
    const changes = await database.db.selectFrom('hierarchy_changes').selectAll().execute();
    expect(changes).toEqual([]);
  });

  it('moves captured changes into the parent link outbox in the order they were written, once', async () => {
    await createLink(
      database.db,
      { siteCode: 'PAR', direction: 'parent', siteType: 'central', url: 'http://parent' },
      now,
    );
    await applyStatusMessages(database.db, 'ABC', [1, 2, 3].map(statusIncoming), now);
    expect(await forwardChanges(database.db, { localCode: 'ABC', contentUrl: 'http://abc' }, now)).toBe(3);
    expect(await forwardChanges(database.db, { localCode: 'ABC', contentUrl: 'http://abc' }, now)).toBe(0);
    const batch = await nextBatch(database.db, { code: 'PAR', localCode: 'ABC', siteKey }, now);
    const payload = payloadOf(batch?.envelope ?? '');
    expect(payload).toMatchObject({ sequence: 1, fromSite: 'ABC', toSite: 'PAR' });
    expect(payload.records.map((r) => (r.body as { machine: string }).machine)).toEqual([
      'machine-1',
      'machine-2',
      'machine-3',
    ]);
  });

  it('keeps one batch in flight per link: resent byte for byte until acknowledged, then the next sequence', async () => {
    await createLink(
      database.db,
      { siteCode: 'KID', direction: 'child', siteType: 'primary', url: 'http://kid' },
      now,
    );
    const root = { envelope: '{"x":1}' };
    await enqueue(database.db, 'KID', [record('root', root), record('root', { envelope: '{"x":2}' })], now);
    const first = await nextBatch(database.db, { code: 'KID', localCode: 'ABC', siteKey }, now);
    await enqueue(database.db, 'KID', [record('root', { envelope: '{"x":3}' })], now);
    const again = await nextBatch(database.db, { code: 'KID', localCode: 'ABC', siteKey }, now);
    expect(again?.envelope).toBe(first?.envelope);
    expect(first?.recordCount).toBe(2);
    await acknowledgeBatch(database.db, 'KID', 1, now);
    const second = await nextBatch(database.db, { code: 'KID', localCode: 'ABC', siteKey }, now);
    expect(payloadOf(second?.envelope ?? '').sequence).toBe(2);
    expect(second?.recordCount).toBe(1);
    await acknowledgeBatch(database.db, 'KID', 2, now);
    expect(await nextBatch(database.db, { code: 'KID', localCode: 'ABC', siteKey }, now)).toBeUndefined();
    const link = await database.db
      .selectFrom('site_links')
      .selectAll()
      .where('site_code', '=', 'KID')
      .executeTakeFirstOrThrow();
    expect(link).toMatchObject({ outbound_sequence: 2, acknowledged_sequence: 2 });
  });

  it('packs at most the batch limit of records, in order, over several batches', async () => {
    await createLink(
      database.db,
      { siteCode: 'KID', direction: 'child', siteType: 'primary', url: 'http://kid' },
      now,
    );
    const count = maxBatchRecords + 10;
    await enqueue(
      database.db,
      'KID',
      Array.from({ length: count }, (_, i) => record('root', { envelope: `{"n":${i}}` })),
      now,
    );
    const seen: number[] = [];
    for (let sequence = 1; sequence <= 2; sequence += 1) {
      const batch = await nextBatch(database.db, { code: 'KID', localCode: 'ABC', siteKey }, now);
      const payload = payloadOf(batch?.envelope ?? '');
      expect(payload.sequence).toBe(sequence);
      for (const r of payload.records)
        seen.push((JSON.parse((r.body as { envelope: string }).envelope) as { n: number }).n);
      await acknowledgeBatch(database.db, 'KID', sequence, now);
    }
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i));
  });
});

it('link schedules: open hours in UTC, windows that pass midnight belong to the day they start', () => {
  const settings = linkSettingsSchema.parse({ openHours: [parseWindow('mon-fri@22:00-06:00')] });
  const at = (text: string) => new Date(text);
  expect(linkIsOpen(settings, at('2026-06-01T23:00:00.000Z'))).toBe(true); // Monday night
  expect(linkIsOpen(settings, at('2026-06-02T05:59:00.000Z'))).toBe(true); // Tuesday morning, Monday's window
  expect(linkIsOpen(settings, at('2026-06-02T06:00:00.000Z'))).toBe(false);
  expect(linkIsOpen(settings, at('2026-06-01T12:00:00.000Z'))).toBe(false); // Monday noon
  expect(linkIsOpen(settings, at('2026-06-07T01:00:00.000Z'))).toBe(false); // Sunday morning, Saturday has none
  expect(linkIsOpen(settings, at('2026-06-06T01:00:00.000Z'))).toBe(true); // Saturday morning, Friday's window
  expect(linkIsOpen(linkSettingsSchema.parse({}), at('2026-06-07T01:00:00.000Z'))).toBe(true);
  expect(parseWindow('sat,sun@00:00-24:00')).toEqual({ days: [6, 0], from: '00:00', to: '00:00' });
  expect(() => parseWindow('someday@1-2')).toThrow();
});
