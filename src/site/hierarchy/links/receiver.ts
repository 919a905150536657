import { sql, type Kysely, type Transaction } from 'kysely';
import {
  envelopePayloadBytes,
  isStewardError,
  openDocument,
  parsePayload,
  readEnvelope,
  sha256Hex,
  WrongRecipientError,
  type SiteMessagePayload,
} from '../../../trust/index.js';
import type { SiteDatabase } from '../../database/schema.js';
import type { SiteHierarchyConfig } from '../hierarchy-config.js';
import {
  SiteLinkPeerError,
  SiteMessageGapError,
  SiteRecordInvalidError,
  UnknownSiteError,
  UnsignedSiteDataError,
} from '../hierarchy-errors.js';
import type { SiteType } from '../hierarchy-schema.js';
import { downRecordTypes, isRecordType, upRecordTypes, type RecordType } from '../records.js';
import { certifiedSite } from '../site-trust.js';
import { joinRecordTypes } from '../join/join-documents.js';
import { getLink, type SiteLink } from './link-store.js';

/** What an applier gets: the open transaction, the link the message came over, and "after commit". */
export interface ApplyContext {
  readonly trx: Transaction<SiteDatabase>;
  readonly localCode: string;
  readonly localType: SiteType;
  readonly link: SiteLink;
  readonly now: Date;
  /** Work to do once the transaction has committed (wake a processor, drop a cache). */
  after(effect: () => void | Promise<void>): void;
}

export type RecordApplier = (
  context: ApplyContext,
  record: { recordId: string; type: RecordType; body: unknown },
) => Promise<void>;

export interface ReceiverOptions {
  localCode: string;
  localType: SiteType;
  appliers: Partial<Record<RecordType, RecordApplier>>;
  hierarchy: SiteHierarchyConfig;
  log(message: string, error?: unknown): void;
}

export type ReceiveAnswer = { status: 'applied' | 'duplicate'; sequence: number; skipped: number };

/**
 * S3, the receiving side of a site link (docs/spec/hierarchy.md). In order:
 *
 * 1. C6: the envelope under the site-message limit (ERR_TOO_LARGE, ERR_ENVELOPE_INVALID).
 * 2. The sender named inside must be a site linked with this one (ERR_UNKNOWN_SITE): the claim is
 *    read only to choose the key, then checked by the signature.
 * 3. Its certificate must chain to this site's root, for that site, in date; the message must be
 *    signed by the key it certifies (ERR_UNKNOWN_KEY, ERR_SIGNATURE_INVALID, ERR_EXPIRED…).
 * 4. Addressed to this site (ERR_WRONG_RECIPIENT).
 * 5. Per-link sequence: one already applied is acknowledged as a duplicate and not applied again; a
 *    gap is refused (ERR_SITE_MESSAGE_GAP, naming the sequence expected) so the sender resends.
 * 6. Records apply in one transaction with the new sequence; a record that does not fit its
 *    schema, or flows the wrong way (down records only from the parent, up records only from a
 *    child), is skipped and counted, never half applied.
 *
 * Unsigned data is refused (ERR_UNSIGNED_SITE_DATA) unless legacy site interop is on for the sender.
 * Over HTTPS the sending site's TLS client certificate must name the site the message claims
 * (`peerSite`, ERR_SITE_LINK_PEER), checked before the signature.
 */
export async function receiveSiteMessage(
  db: Kysely<SiteDatabase>,
  options: ReceiverOptions,
  input: { message?: string | undefined; unsigned?: unknown; peerSite?: string | undefined },
  now: Date,
): Promise<ReceiveAnswer> {
  if (input.message === undefined) return receiveUnsigned(db, options, input.unsigned, input.peerSite, now);
  const envelope = readEnvelope('site-message', input.message);
  const claimed = parsePayload('site-message', envelopePayloadBytes(envelope));
  checkPeer(input.peerSite, claimed.fromSite);
  const link = await getLink(db, claimed.fromSite);
  if (link === undefined) {
    throw new UnknownSiteError(`site ${claimed.fromSite} has no link with site ${options.localCode}`);
  }
  const sender = await certifiedSite(db, claimed.fromSite, now);
  const opened = openDocument('site-message', envelope, [sender.key], 1, now);
  return applyMessage(db, options, link, opened.payload, opened.hash, false, now);
}

async function receiveUnsigned(
  db: Kysely<SiteDatabase>,
  options: ReceiverOptions,
  unsigned: unknown,
  peerSite: string | undefined,
  now: Date,
): Promise<ReceiveAnswer> {
  const payload = parsePayload(
    'site-message',
    new TextEncoder().encode(JSON.stringify({ kind: 'site-message', ...(unsigned as object) })),
  );
  checkPeer(peerSite, payload.fromSite);
  const allowed = options.hierarchy.legacyInterop && options.hierarchy.legacySites.includes(payload.fromSite);
  if (!allowed) {
    throw new UnsignedSiteDataError(
      `refusing unsigned site data from ${payload.fromSite}: legacy site interop is off for it (S3)`,
    );
  }
  const link = await getLink(db, payload.fromSite);
  if (link === undefined) {
    throw new UnknownSiteError(`site ${payload.fromSite} has no link with site ${options.localCode}`);
  }
  options.log(`applying UNSIGNED site data from ${payload.fromSite} (legacy site interop is on)`);
  return applyMessage(db, options, link, payload, sha256Hex(JSON.stringify(payload)), true, now);
}

/** Over mutual TLS, the site certificate's code must be the sender the message names (link-peer.ts). */
function checkPeer(peerSite: string | undefined, fromSite: string): void {
  if (peerSite !== undefined && peerSite !== fromSite) {
    throw new SiteLinkPeerError(
      `the site message claims to come from site ${fromSite}, but the TLS client certificate is site ${peerSite}'s`,
    );
  }
}

async function applyMessage(
  db: Kysely<SiteDatabase>,
  options: ReceiverOptions,
  link: SiteLink,
  payload: SiteMessagePayload,
  hash: string,
  unsigned: boolean,
  now: Date,
): Promise<ReceiveAnswer> {
  if (payload.toSite !== options.localCode) {
    throw new WrongRecipientError(
      `the site message is addressed to site ${payload.toSite}, not to site ${options.localCode}`,
    );
  }
  if (payload.records.some((r) => joinRecordTypes.has(r.type))) {
    throw new SiteRecordInvalidError('a join document is not link traffic; refused');
  }
  const effects: (() => void | Promise<void>)[] = [];
  const answer = await db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('site_links')
      .select('inbound_sequence')
      .where('site_code', '=', link.site_code)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (payload.sequence <= current.inbound_sequence) {
      return { status: 'duplicate' as const, sequence: payload.sequence, skipped: 0 };
    }
    if (payload.sequence !== current.inbound_sequence + 1) {
      throw new SiteMessageGapError(
        `site message ${payload.sequence} from ${link.site_code} skips ahead; expected ${current.inbound_sequence + 1}`,
        current.inbound_sequence + 1,
      );
    }
    const context: ApplyContext = {
      trx,
      localCode: options.localCode,
      localType: options.localType,
      link,
      now,
      after: (effect) => effects.push(effect),
    };
    let skipped = 0;
    let skipError: string | null = null;
    for (const item of payload.records) {
      try {
        await sql`savepoint hierarchy_record`.execute(trx);
        await applyRecord(options, context, item);
        await sql`release savepoint hierarchy_record`.execute(trx);
      } catch (error) {
        await sql`rollback to savepoint hierarchy_record`.execute(trx);
        skipped += 1;
        const reason = isStewardError(error) ? `${error.code}: ${error.message}` : String(error);
        skipError ??= `${item.type} ${item.recordId}: ${reason}`.slice(0, 1000);
        options.log(`site message ${payload.sequence} from ${link.site_code}: record skipped`, error);
      }
    }
    await trx
      .updateTable('site_links')
      .set({ inbound_sequence: payload.sequence, last_received_at: now })
      .where('site_code', '=', link.site_code)
      .execute();
    await trx
      .insertInto('site_message_log')
      .values({
        link_code: link.site_code,
        sequence: payload.sequence,
        hash,
        record_count: payload.records.length,
        skipped,
        skip_error: skipError,
        unsigned,
        received_at: now,
      })
      .execute();
    return { status: 'applied' as const, sequence: payload.sequence, skipped };
  });
  if (answer.status === 'duplicate') {
    await db
      .updateTable('site_links')
      .set({ last_received_at: now })
      .where('site_code', '=', link.site_code)
      .execute();
  }
  for (const effect of effects) {
    try {
      await effect();
    } catch (error) {
      options.log('an after-commit step of a site message failed', error);
    }
  }
  return answer;
}

async function applyRecord(
  options: ReceiverOptions,
  context: ApplyContext,
  item: { recordId: string; type: string; body: unknown },
): Promise<void> {
  const type = item.type;
  if (!isRecordType(type)) throw new SiteRecordInvalidError(`unknown record type ${type}`);
  const fromParent = context.link.direction === 'parent';
  if (fromParent ? !downRecordTypes.has(type) : !upRecordTypes.has(type)) {
    throw new SiteRecordInvalidError(
      `a ${type} record may not come from this site's ${fromParent ? 'parent' : 'child'}`,
    );
  }
  const applier = options.appliers[type];
  if (applier === undefined) throw new SiteRecordInvalidError(`this site does not take ${type} records`);
  await applier(context, { recordId: item.recordId, type, body: item.body });
}
