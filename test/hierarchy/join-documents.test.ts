/**
 * The join's documents and proofs in isolation (docs/spec/hierarchy.md, "Joining"): the join proof
 * binds the token's secret to the very keys to certify; the parent's identity is checked against the
 * token before anything is sent; the join request proves possession of the key it names.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  signIdentity,
  signJoinRequest,
  verifyJoinRequest,
  verifyParentIdentity,
} from '../../src/site/hierarchy/join/join-documents.js';
import { decodeJoinToken, encodeJoinToken, joinProofKey } from '../../src/site/hierarchy/join/join-token.js';
import {
  createRootDocument,
  issueSiteCertificate,
  joinProof,
  randomId,
  randomToken,
  SigningKey,
  verifyJoinProof,
  type JoinProofFields,
} from '../../src/trust/index.js';

const now = new Date();
const later = new Date(now.getTime() + 365 * 24 * 3600 * 1000);

function hierarchy() {
  const rootKey = SigningKey.generate();
  const siteKey = SigningKey.generate();
  const root = createRootDocument(
    { version: 1, keys: [rootKey], threshold: 1, issuedAt: now, expiresAt: later },
    [rootKey],
  );
  const certificate = issueSiteCertificate(
    {
      version: 1,
      siteCode: 'PAR',
      siteName: 'Parent',
      siteKey: siteKey.publicRecord(),
      parentSiteCode: null,
      siteType: 'central',
      issuedAt: now.toISOString(),
      expiresAt: later.toISOString(),
    },
    [rootKey],
  );
  return { rootKey, siteKey, root, certificate };
}

function identityOf(
  h: ReturnType<typeof hierarchy>,
  nonce: string,
  childCode = 'KID',
  signer = h.siteKey,
): string {
  return signIdentity(
    {
      nonce,
      siteCode: 'PAR',
      siteName: 'Parent',
      siteType: 'central',
      url: 'http://parent.example',
      siteCertificate: h.certificate.encoded,
      rootChain: [h.root.encoded],
      certificates: [],
    },
    signer,
    childCode,
    now,
  );
}

describe('join proof', () => {
  const fields: JoinProofFields = {
    tokenId: randomId(),
    siteCode: 'KID',
    siteType: 'primary',
    siteKeyId: SigningKey.generate().keyId,
    mpKeyId: SigningKey.generate().keyId,
  };

  it('verifies with the token secret over the same fields, and refuses any other field or secret', () => {
    const key = joinProofKey(randomToken(32));
    const proof = joinProof(key, fields);
    expect(() => verifyJoinProof(key, fields, proof)).not.toThrow();
    for (const changed of [
      { ...fields, siteKeyId: SigningKey.generate().keyId },
      { ...fields, mpKeyId: null },
      { ...fields, siteCode: 'OTH' },
      { ...fields, siteType: 'secondary' },
      { ...fields, tokenId: randomId() },
    ]) {
      expect(() => verifyJoinProof(key, changed, proof)).toThrow(
        expect.objectContaining({ code: 'ERR_SIGNATURE_INVALID' }),
      );
    }
    expect(() => verifyJoinProof(joinProofKey(randomToken(32)), fields, proof)).toThrow();
    expect(() => verifyJoinProof(key, fields, 'not hex')).toThrow();
  });

  it('never accepts a proof that was not made with the key (property)', () => {
    const key = joinProofKey(randomToken(32));
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (proof) => {
        expect(() => verifyJoinProof(key, fields, proof)).toThrow();
      }),
    );
  });
});

describe('join token text', () => {
  it('round-trips, and refuses anything else with ERR_JOIN_TOKEN_INVALID (property)', () => {
    const token = {
      tokenId: randomId(),
      parentUrl: 'http://parent.example:8430',
      parentCode: 'PAR',
      parentSiteKeyId: SigningKey.generate().keyId,
      siteType: 'secondary' as const,
      secret: randomToken(32),
      expiresAt: later.toISOString(),
    };
    expect(decodeJoinToken(encodeJoinToken(token))).toEqual(token);
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expect(() => decodeJoinToken(text)).toThrow(
          expect.objectContaining({ code: 'ERR_JOIN_TOKEN_INVALID' }),
        );
      }),
    );
    expect(() => decodeJoinToken(`stj1.${Buffer.from('{"tokenId":1}').toString('base64url')}`)).toThrow(
      expect.objectContaining({ code: 'ERR_JOIN_TOKEN_INVALID' }),
    );
  });
});

describe('the parent identity, checked before the child sends anything', () => {
  it('accepts the parent that holds the key the token names, signed over our nonce', () => {
    const h = hierarchy();
    const nonce = randomToken(16);
    const parent = verifyParentIdentity(
      identityOf(h, nonce),
      {
        parentCode: 'PAR',
        parentSiteKeyId: h.siteKey.keyId,
        childCode: 'KID',
        nonce,
        rootPin: h.rootKey.fingerprint,
      },
      now,
    );
    expect(parent.key.keyId).toBe(h.siteKey.keyId);
    expect(parent.root.version).toBe(1);
  });

  it('refuses a site holding another key (ERR_PARENT_KEY_MISMATCH), an identity for another nonce or child, a foreign root pin', () => {
    const h = hierarchy();
    const impostor = hierarchy();
    const nonce = randomToken(16);
    const expected = {
      parentCode: 'PAR',
      parentSiteKeyId: h.siteKey.keyId,
      childCode: 'KID',
      nonce,
      rootPin: null,
    };
    expect(() => verifyParentIdentity(identityOf(impostor, nonce), expected, now)).toThrow(
      expect.objectContaining({ code: 'ERR_PARENT_KEY_MISMATCH' }),
    );
    // The real parent's certificate replayed by an impostor that cannot sign with its key.
    const replayed = signIdentity(
      {
        nonce,
        siteCode: 'PAR',
        siteName: 'Parent',
        siteType: 'central',
        url: 'http://parent.example',
        siteCertificate: h.certificate.encoded,
        rootChain: [h.root.encoded],
        certificates: [],
      },
      impostor.siteKey,
      'KID',
      now,
    );
    expect(() => verifyParentIdentity(replayed, expected, now)).toThrow(
      expect.objectContaining({ code: 'ERR_UNKNOWN_KEY' }),
    );
    expect(() => verifyParentIdentity(identityOf(h, randomToken(16)), expected, now)).toThrow(
      expect.objectContaining({ code: 'ERR_WRONG_RECIPIENT' }),
    );
    expect(() => verifyParentIdentity(identityOf(h, nonce, 'OTH'), expected, now)).toThrow(
      expect.objectContaining({ code: 'ERR_WRONG_RECIPIENT' }),
    );
    expect(() =>
      verifyParentIdentity(identityOf(h, nonce), { ...expected, rootPin: impostor.rootKey.fingerprint }, now),
    ).toThrow(expect.objectContaining({ code: 'ERR_ROOT_PIN_MISMATCH' }));
  });
});

describe('the join request', () => {
  it('proves possession of the key it asks to certify', () => {
    const key = SigningKey.generate();
    const body = {
      tokenId: null,
      proof: null,
      siteCode: 'KID',
      siteName: 'Kid',
      siteType: 'primary' as const,
      siteKey: key.publicRecord(),
      mpKey: null,
      url: 'http://kid.example',
      nonce: randomToken(16),
    };
    expect(verifyJoinRequest(signJoinRequest(body, key, 'PAR', now), now).siteKey.keyId).toBe(key.keyId);
    expect(() => verifyJoinRequest(signJoinRequest(body, SigningKey.generate(), 'PAR', now), now)).toThrow(
      expect.objectContaining({ code: 'ERR_UNKNOWN_KEY' }),
    );
  });
});
