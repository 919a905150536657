/**
 * A joining site's transport security (docs/tls.md, "Site certificates"). Its TLS key is made at
 * the child and its private half never leaves keys/tls-server.key; only the public key and the
 * names the site serves travel, inside the join request that the new site key signs. A parent
 * served over HTTPS is reached before the child holds the hierarchy CA like this: the CA and its
 * endorsement are read once without validation (nothing is sent), every later call validates the
 * parent against that CA and requires the very server key first seen, and the CA is trusted for
 * good only when the root that the parent's identity proves (C1) endorses it, before the join
 * request goes out.
 */
import { z } from 'zod';
import {
  httpsFetchUnverified,
  readTlsKeyFile,
  TlsKey,
  tlsOptionsFor,
  verifyCaEndorsement,
  writeTlsKeyFile,
  type KeyFileOptions,
  type KeySecret,
  type TlsClientOptions,
  type TrustedRoot,
} from '../../../trust/index.js';
import type { SiteDataLayout } from '../../data-folder/layout.js';
import type { SiteDb } from '../../database/site-db.js';
import { saveHierarchyCa, saveOwnSiteCertificate } from '../../tls/site-certificate-store.js';
import { serverNames } from '../../tls/site-tls.js';
import { hierarchyPaths } from '../hierarchy-paths.js';
import type { SiteTlsRequest } from '../records.js';
import type { JoinResultBody } from './join-documents.js';

/** Makes the site server's TLS key (keys/tls-server.key), or reads it when a join resumes. */
export async function siteTlsKey(
  layout: SiteDataLayout,
  secret: KeySecret,
  options: KeyFileOptions,
  resumed: boolean,
): Promise<TlsKey> {
  if (resumed) return readTlsKeyFile(layout.tlsServerKey, secret);
  const key = TlsKey.generate();
  await writeTlsKeyFile(layout.tlsServerKey, key, secret, options);
  return key;
}

const certificateDnsName =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The request for a site server certificate: the public key and the names the listener serves. */
export function siteTlsRequest(key: TlsKey, listenHost: string, publicUrl: string | null): SiteTlsRequest {
  const names = serverNames(listenHost, publicUrl);
  return {
    publicKey: Buffer.from(key.publicKeyDer()).toString('base64'),
    // A machine name a certificate cannot carry (an underscore, a long label) is left out.
    dnsNames: names.dnsNames.filter((name) => certificateDnsName.test(name)),
    ipAddresses: names.ipAddresses,
  };
}

export const parentTlsSchema = z.strictObject({
  caCertificate: z
    .string()
    .min(1)
    .max(64 * 1024),
  caEndorsement: z
    .string()
    .min(2)
    .max(1024 * 1024),
  serverPublicKeySha256: z.string().regex(/^[0-9a-f]{64}$/),
});
/** What a child learnt of an HTTPS parent before it holds the CA (kept in the join state to resume). */
export type ParentTls = z.output<typeof parentTlsSchema>;

/** For an https parent: reads its CA without validation (nothing is sent) and the key it presented. */
export async function discoverParentTls(parentUrl: string): Promise<ParentTls | undefined> {
  if (!parentUrl.startsWith('https:')) return undefined;
  const answer = await httpsFetchUnverified(`${parentUrl}${hierarchyPaths.tlsCa}`, {
    maxBytes: 2 * 1024 * 1024,
    timeoutMs: 60_000,
  });
  const body = z
    .object({ caCertificate: z.string(), caEndorsement: z.string() })
    .parse(JSON.parse(Buffer.from(answer.body).toString('utf8')));
  return parentTlsSchema.parse({ ...body, serverPublicKeySha256: answer.serverPublicKeySha256 });
}

/** Validates the parent against the CA read first, and requires the server key seen then. */
export function parentTlsOptions(parent: ParentTls | undefined): TlsClientOptions | undefined {
  if (parent === undefined) return undefined;
  return tlsOptionsFor({ caPem: parent.caCertificate, serverPublicKeySha256: parent.serverPublicKeySha256 });
}

/** The CA read first must be the one the proven root endorses (C1), before the join request goes. */
export function checkParentCa(parent: ParentTls | undefined, root: TrustedRoot, now: Date): void {
  if (parent !== undefined) verifyCaEndorsement(parent.caEndorsement, parent.caCertificate, root, now);
}

/**
 * Stores what the join result brought: the hierarchy CA (endorsed by the root, C1) and this site's
 * server certificate (issued by it, for this code and this key). Nothing when none came.
 */
export async function storeJoinTls(
  db: SiteDb,
  layout: SiteDataLayout,
  input: { result: JoinResultBody; root: TrustedRoot; code: string; key: TlsKey | undefined; now: Date },
): Promise<boolean> {
  const tls = input.result.tls;
  if (tls === undefined || input.key === undefined) return false;
  await saveHierarchyCa(db, layout, tls, input.root, input.now);
  await saveOwnSiteCertificate(db, {
    siteCode: input.code,
    certificatePem: tls.certificate,
    publicKeySha256: input.key.publicKeySha256,
    now: input.now,
  });
  return true;
}
