/**
 * A small hierarchy for the directory tests: a root, site certificates and MP certificates, made
 * with the trust core's own functions, plus the TrustedRoot a pinned agent would hold.
 */
import {
  createRootDocument,
  fingerprintOf,
  issueMpCertificate,
  issueSiteCertificate,
  SigningKey,
  trustRootFromPin,
  type TrustedRoot,
} from '../../../src/trust/index.js';

export const now = new Date();
const day = 86_400_000;
const validity = {
  issuedAt: new Date(now.getTime() - day).toISOString(),
  expiresAt: new Date(now.getTime() + 30 * day).toISOString(),
};

export interface TestHierarchy {
  rootKey: SigningKey;
  rootDocument: string;
  root: TrustedRoot;
  siteCertificate(siteCode: string, options?: { parent?: string }): string;
  mpCertificate(mpName: string, siteCode: string, urls: readonly string[]): string;
}

export function createHierarchy(): TestHierarchy {
  const rootKey = SigningKey.generate();
  const rootDocument = createRootDocument({ version: 1, keys: [rootKey], threshold: 1, ...validity }, [
    rootKey,
  ]).encoded;
  const root = trustRootFromPin([rootDocument], fingerprintOf(rootKey.keyId), now);
  return {
    rootKey,
    rootDocument,
    root,
    siteCertificate: (siteCode, options = {}) =>
      issueSiteCertificate(
        {
          version: 1,
          siteCode,
          siteName: `Site ${siteCode}`,
          siteKey: SigningKey.generate().publicRecord(),
          parentSiteCode: options.parent ?? null,
          siteType: options.parent === undefined ? 'central' : 'primary',
          ...validity,
        },
        [rootKey],
      ).encoded,
    mpCertificate: (mpName, siteCode, urls) =>
      issueMpCertificate(
        {
          version: 1,
          mpName,
          siteCode,
          urls: [...urls],
          mpKey: SigningKey.generate().publicRecord(),
          ...validity,
        },
        [rootKey],
      ).encoded,
  };
}
