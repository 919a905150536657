/**
 * C2 keeps a replaced management point key from coming back (docs/spec/trust.md): the agent
 * remembers the newest certificate serial it accepted for each MP name, refuses an older one for
 * the MP it polls (ERR_ROLLBACK), and ignores an older one among the site's other MPs, so a list
 * signed by the old key is not accepted (C3). Certificates and bundles are real signed documents.
 */
import { describe, expect, it } from 'vitest';
import {
  acceptManagementPoint,
  applyTrustBundle,
  mpSerialsChanged,
} from '../../src/agent/trust/agent-trust.js';
import { issueMpCertificate, SigningKey, trustRootFromPin, fingerprintOf } from '../../src/trust/index.js';
import { buildSitePki } from '../support/test-pki.js';

const now = new Date();
const pki = buildSitePki({ now });
const root = trustRootFromPin([pki.rootDocument.encoded], fingerprintOf(pki.rootKey.keyId), now);

function mpCertificate(name: string, serial: number, key: SigningKey = SigningKey.generate()): string {
  return issueMpCertificate(
    {
      version: serial,
      mpName: name,
      siteCode: pki.siteCode,
      urls: [`http://127.0.0.1:${8000 + serial}`],
      mpKey: key.publicRecord(),
      issuedAt: new Date(now.getTime() - 3600_000).toISOString(),
      expiresAt: new Date(now.getTime() + 30 * 24 * 3600_000).toISOString(),
    },
    [pki.rootKey],
  ).encoded;
}

describe('C2: MP certificate serials never go back', () => {
  it('records the serial of every MP certificate it accepts', () => {
    const view = acceptManagementPoint(
      { ...pki.trustBundle, managementPoints: [mpCertificate('ABC-MP2', 4)] },
      root,
      pki.siteCode,
      now,
    );
    expect(view.mpSerials).toEqual({ [pki.mpName]: 1, 'ABC-MP2': 4 });
  });

  it('accepts a newer certificate of the MP (rotate-mp) and remembers it', () => {
    const rotatedKey = SigningKey.generate();
    const view = acceptManagementPoint(
      { ...pki.trustBundle, mpCertificate: mpCertificate(pki.mpName, 7, rotatedKey) },
      root,
      pki.siteCode,
      now,
      { [pki.mpName]: 1 },
    );
    expect(view.mpKey.keyId).toBe(rotatedKey.keyId);
    expect(view.mpSerials[pki.mpName]).toBe(7);
  });

  it('refuses an older certificate of the MP it polls than one accepted before (ERR_ROLLBACK)', () => {
    expect(() =>
      acceptManagementPoint(pki.trustBundle, root, pki.siteCode, now, { [pki.mpName]: 7 }),
    ).toThrow(expect.objectContaining({ code: 'ERR_ROLLBACK' }) as Error);
    // The same refusal when the whole bundle is applied from the held trust state.
    expect(() =>
      applyTrustBundle(
        {
          chain: [pki.rootDocument.encoded],
          pin: fingerprintOf(pki.rootKey.keyId),
          source: 'pinned',
          bundleEtag: null,
          mpSerials: { [pki.mpName]: 7 },
        },
        pki.trustBundle,
        pki.siteCode,
        now,
      ),
    ).toThrow(expect.objectContaining({ code: 'ERR_ROLLBACK' }) as Error);
  });

  it("ignores another MP's certificate older than the one accepted for its name", () => {
    const oldKey = SigningKey.generate();
    const view = acceptManagementPoint(
      { ...pki.trustBundle, managementPoints: [mpCertificate('ABC-MP2', 3, oldKey)] },
      root,
      pki.siteCode,
      now,
      { 'ABC-MP2': 5 },
    );
    expect(view.otherMps.map((mp) => mp.key.keyId)).not.toContain(oldKey.keyId);
    expect(view.mpSerials['ABC-MP2']).toBe(5);
  });

  it('says when the held state must be written', () => {
    const view = acceptManagementPoint(pki.trustBundle, root, pki.siteCode, now, { [pki.mpName]: 1 });
    const held = { chain: [], pin: null, source: 'pinned' as const, bundleEtag: null };
    expect(mpSerialsChanged({ ...held, mpSerials: { [pki.mpName]: 1 } }, view)).toBe(false);
    expect(mpSerialsChanged(held, view)).toBe(true);
  });
});
