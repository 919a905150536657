/**
 * C3 assignments, C4 policy bodies, C5 manifests and streamed content: one test per failure code.
 */
import { describe, expect, it } from 'vitest';
import {
  acceptAssignments,
  acceptContentManifest,
  acceptPolicyBody,
  createContentVerifier,
  sha256Hex,
  signDocument,
  type StewardError,
} from '../../src/trust/index.js';
import { buildPki, daysFromNow, now, samplePayload, seededKey, withFields } from './support/pki.js';

const pki = buildPki('client-checks');
const clientId = pki.clientKey.keyId;
const siteKeys = new Map([[pki.siteKey.keyId, pki.siteKey.verifyingKey()]]);

const manifest = signDocument(samplePayload('content-manifest'), [pki.siteKey]);
const body = signDocument(
  {
    ...samplePayload('policy-body'),
    package: { packageId: 'ABC-P-1', version: '1.0.0', manifestHash: manifest.hash },
  },
  [pki.siteKey],
);
const assignments = (changes: Record<string, unknown> = {}, signer = pki.mpKey) =>
  signDocument(
    withFields('policy-assignments', {
      assignments: [{ policyId: 'ABC00001', version: 1, hash: body.hash }],
      ...changes,
    }),
    [signer],
  );
const context = { mpKey: pki.mpKey.verifyingKey(), clientId, siteCode: 'ABC', lastSequence: 7, now };

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as StewardError).code;
  }
  return 'accepted';
}

describe('C3 assignments', () => {
  it('C3 accepts a list signed by the certified MP, for this client, at or above the last sequence', () => {
    const opened = acceptAssignments(assignments().encoded, context);
    expect(opened.payload.assignments[0]!.hash).toBe(body.hash);
    expect(codeOf(() => acceptAssignments(assignments({ sequence: 8 }).encoded, context))).toBe('accepted');
    expect(codeOf(() => acceptAssignments(assignments().encoded, { ...context, lastSequence: null }))).toBe(
      'accepted',
    );
  });

  it('C3 rejects an assignment list older than the last accepted (ERR_ROLLBACK)', () => {
    expect(codeOf(() => acceptAssignments(assignments({ sequence: 6 }).encoded, context))).toBe(
      'ERR_ROLLBACK',
    );
  });

  it('C3 rejects an expired assignment list: a freeze (ERR_EXPIRED)', () => {
    const stale = assignments({ issuedAt: daysFromNow(-3), expiresAt: daysFromNow(-1) });
    expect(codeOf(() => acceptAssignments(stale.encoded, context))).toBe('ERR_EXPIRED');
  });

  it('C3 rejects a list addressed to another client or site (ERR_WRONG_RECIPIENT)', () => {
    const forOther = assignments({ clientId: seededKey('another-client').keyId });
    expect(codeOf(() => acceptAssignments(forOther.encoded, context))).toBe('ERR_WRONG_RECIPIENT');
    expect(codeOf(() => acceptAssignments(assignments({ siteCode: 'XYZ' }).encoded, context))).toBe(
      'ERR_WRONG_RECIPIENT',
    );
  });

  it('C3 rejects a list signed by another key than the certified MP key (ERR_UNKNOWN_KEY)', () => {
    const rogue = assignments({}, seededKey('rogue-mp'));
    expect(codeOf(() => acceptAssignments(rogue.encoded, context))).toBe('ERR_UNKNOWN_KEY');
    const bySite = assignments({}, pki.siteKey);
    expect(codeOf(() => acceptAssignments(bySite.encoded, context))).toBe('ERR_UNKNOWN_KEY');
  });
});

describe('C4 policy bodies', () => {
  it('C4 accepts a body signed by a certified site key whose hash the assignment names', () => {
    const opened = acceptPolicyBody(body.encoded, { siteKeys, expectedHash: body.hash, now });
    expect(opened.payload.package.manifestHash).toBe(manifest.hash);
    expect(
      codeOf(() => acceptPolicyBody(body.encoded, { siteKeys, expectedHash: body.hash.toUpperCase(), now })),
    ).toBe('accepted');
  });

  it('C4 rejects a body whose hash differs from the assignment (ERR_HASH_MISMATCH)', () => {
    const older = signDocument(withFields('policy-body', { version: 2 }), [pki.siteKey]);
    expect(codeOf(() => acceptPolicyBody(older.encoded, { siteKeys, expectedHash: body.hash, now }))).toBe(
      'ERR_HASH_MISMATCH',
    );
    expect(codeOf(() => acceptPolicyBody(body.encoded, { siteKeys, expectedHash: 'nothex', now }))).toBe(
      'ERR_PAYLOAD_INVALID',
    );
  });

  it('C4 rejects a body signed by an uncertified key, even with the right hash (ERR_UNKNOWN_KEY)', () => {
    const rogue = signDocument(samplePayload('policy-body'), [pki.mpKey]);
    expect(codeOf(() => acceptPolicyBody(rogue.encoded, { siteKeys, expectedHash: rogue.hash, now }))).toBe(
      'ERR_UNKNOWN_KEY',
    );
  });

  it('C4 rejects an expired body (ERR_EXPIRED)', () => {
    const expired = signDocument(
      withFields('policy-body', { issuedAt: daysFromNow(-9), expiresAt: daysFromNow(-1) }),
      [pki.siteKey],
    );
    expect(
      codeOf(() => acceptPolicyBody(expired.encoded, { siteKeys, expectedHash: expired.hash, now })),
    ).toBe('ERR_EXPIRED');
  });
});

describe('C5 content', () => {
  const expected = {
    siteKeys,
    expectedHash: manifest.hash,
    packageId: 'ABC-P-1',
    packageVersion: '1.0.0',
    now,
  };

  it('C5 accepts the manifest the body names', () => {
    const opened = acceptContentManifest(manifest.encoded, expected);
    expect(opened.payload.totalSize).toBe(5);
  });

  it('C5 rejects a manifest whose hash differs from the body (ERR_HASH_MISMATCH)', () => {
    const other = signDocument(withFields('content-manifest', { version: 2 }), [pki.siteKey]);
    expect(codeOf(() => acceptContentManifest(other.encoded, expected))).toBe('ERR_HASH_MISMATCH');
  });

  it('C5 rejects a manifest for another package (ERR_PAYLOAD_INVALID) or from an uncertified key', () => {
    expect(
      codeOf(() => acceptContentManifest(manifest.encoded, { ...expected, packageVersion: '2.0.0' })),
    ).toBe('ERR_PAYLOAD_INVALID');
    const rogue = signDocument(samplePayload('content-manifest'), [seededKey('rogue-site')]);
    expect(
      codeOf(() => acceptContentManifest(rogue.encoded, { ...expected, expectedHash: rogue.hash })),
    ).toBe('ERR_UNKNOWN_KEY');
  });

  it('C5 accepts content of the declared size and hash, in any chunking', () => {
    const verifier = createContentVerifier({ size: 5, sha256: sha256Hex('hello') });
    for (const chunk of ['he', '', 'l', 'lo']) verifier.update(Buffer.from(chunk));
    expect(verifier.bytesSeen).toBe(5);
    expect(() => verifier.finish()).not.toThrow();
  });

  it('C5 stops endless data at the declared size (ERR_CONTENT_SIZE) without hashing beyond it', () => {
    const verifier = createContentVerifier({ size: 1000, sha256: sha256Hex('x') });
    const chunk = Buffer.alloc(64);
    let chunks = 0;
    const endless = () => {
      for (;;) {
        verifier.update(chunk);
        chunks += 1;
      }
    };
    expect(codeOf(endless)).toBe('ERR_CONTENT_SIZE');
    expect(chunks).toBe(15);
    expect(verifier.bytesSeen).toBe(960);
    expect(() => verifier.update(chunk)).toThrow(/finished or has failed/);
  });

  it('C5 rejects short content (ERR_CONTENT_SIZE) and a different hash (ERR_HASH_MISMATCH)', () => {
    const short = createContentVerifier({ size: 5, sha256: sha256Hex('hello') });
    short.update(Buffer.from('hell'));
    expect(codeOf(() => short.finish())).toBe('ERR_CONTENT_SIZE');
    const changed = createContentVerifier({ size: 5, sha256: sha256Hex('hello') });
    changed.update(Buffer.from('jello'));
    expect(codeOf(() => changed.finish())).toBe('ERR_HASH_MISMATCH');
    expect(codeOf(() => createContentVerifier({ size: -1, sha256: sha256Hex('') }))).toBe(
      'ERR_PAYLOAD_INVALID',
    );
  });

  it('C5 accepts an empty file', () => {
    const empty = createContentVerifier({ size: 0, sha256: sha256Hex('') });
    expect(() => empty.finish()).not.toThrow();
  });
});
