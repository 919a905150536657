import { sha256Hex } from '../../trust/index.js';
import { InvalidRequestError } from '../../site/site-errors.js';
import { canonicalJson, type JsonValue } from './canonical-json.js';

/** `prev_hash` of the first entry. */
export const genesisHash = '0'.repeat(64);

/** Largest canonical `details` text accepted, in UTF-16 code units. */
export const maxAuditDetailsLength = 64 * 1024;

/** An escape jsonb refuses: U+0000, or a lone surrogate (JSON.stringify escapes only those). */
const jsonbUnstorable = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/;

/** What a caller records: who did what to which object. */
export interface AuditRecord {
  readonly actor: string;
  readonly action: string;
  readonly objectClass: string;
  readonly objectId: string;
  /** Any JSON-serialisable object; it is stored and hashed as JSON.stringify would write it. */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: Date;
  readonly actor: string;
  readonly action: string;
  readonly objectClass: string;
  readonly objectId: string;
  readonly details: { readonly [key: string]: JsonValue };
  readonly prevHash: string;
  readonly hash: string;
}

export type HashedFields = Omit<AuditEntry, 'prevHash' | 'hash'>;

/** hash = SHA-256(prev_hash + "\n" + canonical JSON of {seq, at (ISO 8601), actor, action, objectClass, objectId, details}). */
export function auditEntryHash(prevHash: string, entry: HashedFields): string {
  const body = canonicalJson({
    seq: entry.seq,
    at: entry.at.toISOString(),
    actor: entry.actor,
    action: entry.action,
    objectClass: entry.objectClass,
    objectId: entry.objectId,
    details: entry.details,
  });
  return sha256Hex(`${prevHash}\n${body}`);
}

/**
 * Turns caller details into the JSON object that will be stored, exactly as it will read back from
 * jsonb: through JSON.stringify (dates become strings, undefined members vanish), then checked.
 */
export function normaliseDetails(details: Readonly<Record<string, unknown>>): {
  details: { readonly [key: string]: JsonValue };
  text: string;
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(JSON.stringify(details));
  } catch (error) {
    throw new InvalidRequestError('Audit details must be serialisable as JSON.', { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidRequestError('Audit details must be a JSON object.');
  }
  let text: string;
  try {
    text = canonicalJson(parsed);
  } catch (error) {
    throw new InvalidRequestError('Audit details are nested too deeply.', { cause: error });
  }
  if (text.length > maxAuditDetailsLength) {
    throw new InvalidRequestError(`Audit details are longer than ${maxAuditDetailsLength} characters.`);
  }
  if (jsonbUnstorable.test(text)) {
    throw new InvalidRequestError('Audit details may not contain U+0000 or unpaired surrogates.');
  }
  return { details: parsed as { readonly [key: string]: JsonValue }, text };
}

export function checkAuditRecordFields(record: AuditRecord): void {
  for (const field of ['actor', 'action', 'objectClass', 'objectId'] as const) {
    const value = record[field];
    if (value.length === 0 || value.length > 256) {
      throw new InvalidRequestError(`Audit ${field} must be 1 to 256 characters.`);
    }
  }
}
