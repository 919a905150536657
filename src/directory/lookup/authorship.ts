/**
 * S4: the directory is a trusted source only for entries whose writer is the system named in them.
 * A site's entries (site, root chain, boundary ranges, server locator points) must be written by
 * the site server's account `steward-<site code>`; a management point entry by the MP's own
 * account (named as the MP) or by its site server. An entry must also agree with the signed
 * document it carries, and, when a root is given, that document must verify against it (C1, C2).
 */
import {
  envelopePayloadBytes,
  isStewardError,
  parsePayload,
  readEnvelope,
  verifyMpCertificate,
  verifySiteCertificate,
  type TrustedRoot,
} from '../../trust/index.js';
import { sameDn } from './dn.js';
import type { DirectoryRecord, RejectedEntry } from './entries.js';
import { siteServerAccountName } from './vocabulary.js';

/** Verify signed documents too: against this root, at this fixed "now". */
export interface VerifyOptions {
  root: TrustedRoot;
  now: Date;
}

/** The account names that may write an entry (compared case-insensitively). */
export function expectedWriterNames(record: DirectoryRecord): string[] {
  const site = siteServerAccountName(record.siteCode);
  return record.kind === 'managementPoint' ? [record.mpName, site] : [site];
}

function writerProblem(record: DirectoryRecord): string | undefined {
  const writer = record.writer;
  if (writer === undefined) {
    return 'the directory did not say who wrote this entry (creatorsName or owner is not readable)';
  }
  if (writer.modifiedBy !== undefined && !sameDn(writer.modifiedBy, writer.dn)) {
    return `written by ${writer.dn} but last modified by ${writer.modifiedBy}`;
  }
  if (writer.descriptorWrites !== undefined && writer.descriptorWrites > 1) {
    return `its owner or permissions were changed after it was created (owner now ${writer.name})`;
  }
  const expected = expectedWriterNames(record);
  if (!expected.some((name) => name.toLowerCase() === writer.name.toLowerCase())) {
    return `written by ${writer.name} (${writer.dn}), not by ${expected.join(' or ')}`;
  }
  return undefined;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value) => b.includes(value));
}

/** Unverified reading of the signed document's names, to compare with the entry's attributes. */
function contentProblem(record: DirectoryRecord, verify: VerifyOptions | undefined): string | undefined {
  if (record.kind === 'site') {
    const payload = verify
      ? verifySiteCertificate(record.siteCertificate, verify.root, verify.now, record.siteCode).payload
      : parsePayload(
          'site-certificate',
          envelopePayloadBytes(readEnvelope('site-certificate', record.siteCertificate)),
        );
    if (payload.siteCode !== record.siteCode) return `its site certificate is for site ${payload.siteCode}`;
  }
  if (record.kind === 'managementPoint') {
    const payload = verify
      ? verifyMpCertificate(record.certificate, verify.root, verify.now, record.siteCode).payload
      : parsePayload(
          'mp-certificate',
          envelopePayloadBytes(readEnvelope('mp-certificate', record.certificate)),
        );
    if (payload.siteCode !== record.siteCode || payload.mpName !== record.mpName) {
      return `its MP certificate is for ${payload.mpName} at site ${payload.siteCode}`;
    }
    if (!sameSet(record.urls, payload.urls)) return 'its URLs differ from those in its MP certificate';
  }
  if (record.kind === 'rootChain') {
    for (const document of record.documents)
      parsePayload('root', envelopePayloadBytes(readEnvelope('root', document)));
  }
  return undefined;
}

/** Splits records into those lookup may use and those it ignores, with the reason for each. */
export function screenRecords<R extends DirectoryRecord>(
  records: readonly R[],
  verify?: VerifyOptions,
): { accepted: R[]; rejected: RejectedEntry[] } {
  const accepted: R[] = [];
  const rejected: RejectedEntry[] = [];
  for (const record of records) {
    const reject = (reason: string, code?: string) =>
      rejected.push({
        dn: record.dn,
        kind: record.kind,
        writer: record.writer?.dn,
        reason,
        ...(code === undefined ? {} : { code }),
      });
    const byWriter = writerProblem(record);
    if (byWriter !== undefined) {
      reject(`S4: ${byWriter}`);
      continue;
    }
    try {
      const byContent = contentProblem(record, verify);
      if (byContent !== undefined) {
        reject(`the entry disagrees with its signed document: ${byContent}`);
        continue;
      }
    } catch (error) {
      if (!isStewardError(error)) throw error;
      reject(`its signed document was refused: ${error.message}`, error.code);
      continue;
    }
    accepted.push(record);
  }
  return { accepted, rejected };
}
