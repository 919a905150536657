import { mkdir, readdir, stat } from 'node:fs/promises';
import {
  createRootDocument,
  createSecretFile,
  issueMpCertificate,
  issueSiteCertificate,
  randomToken,
  SigningKey,
  writeKeyFile,
  type KeySecret,
} from '../../trust/index.js';
import { appendAudit } from '../../admin/audit-log/index.js';
import { createAccount, issueApiToken } from '../../admin/identity/index.js';
import { createEnrolmentToken } from '../clients/enrolment-tokens.js';
import { databaseLocation, openSiteDatabase, redactUrl } from '../database/open.js';
import { writeFileAtomic } from '../../platform/atomic-file.js';
import { siteDataLayout } from '../data-folder/layout.js';
import { writeSiteConfig, type SiteConfig } from '../data-folder/site-config.js';
import { saveCertificate, saveRootDocument } from '../hierarchy/trust-store.js';
import { registerEmbeddedSiteSystems } from '../site-systems/site-systems.js';
import { DataFolderError } from '../site-errors.js';
import { isLoopbackHost, listenUrl, parseListen } from '../http/listen-address.js';
import { defaultServerValidityDays } from '../../trust/tls/index.js';
import { createSiteCertificateAuthority, serverNames, SiteTls } from '../tls/site-tls.js';
import { certificateValidity } from './validity.js';
import type { SecurityMode } from '../security-mode/security-mode.js';

export interface SiteInitOptions {
  dataDir: string;
  code: string;
  name: string;
  listen: string;
  publicUrl: string | null;
  database: string | null;
  passphrase: string | null;
  approval: SiteConfig['approval'];
  now: Date;
  /** Refuse a database connection that is not TLS (recorded in site.json; docs/tls.md). */
  databaseRequireTls?: boolean;
  /** standard: site systems share one credential (docs/audit.md); absent or advanced: the default. */
  securityMode?: SecurityMode;
  /** Validity of the site server's first TLS certificate, in days (default 90). */
  serverCertificateDays?: number;
  /** Lower key-file cost for tests only. */
  keyFileCost?: { N: number; r: number; p: number };
}

export interface SiteInitResult {
  siteCode: string;
  siteType: 'central';
  dataDir: string;
  rootFingerprint: string;
  rootKeyId: string;
  siteKeyFingerprint: string;
  mpKeyFingerprint: string;
  url: string;
  /** SHA-256 of the hierarchy TLS CA certificate (tls/ca.pem in the data folder). */
  tlsCaSha256: string;
  credentialsPath: string;
  enrolmentToken: string;
  enrolmentTokenExpiresAt: string;
  database: string;
}

/**
 * `steward site init` for a central site (DESIGN.md section 9): the data folder, keys (encrypted at
 * rest, mode 0600), the root document, the site and MP certificates, the site database, the first
 * administrator and an enrolment token. Primary and secondary sites join a parent instead.
 */
export async function initCentralSite(options: SiteInitOptions): Promise<SiteInitResult> {
  const code = options.code.toUpperCase();
  if (!/^[A-Z0-9]{3}$/.test(code))
    throw new DataFolderError('a site code is three letters or digits, like ABC');
  const listen = parseListen(options.listen);
  // HTTPS unless the site listens on loopback only (docs/tls.md); `site start --tls` may change it.
  const url = options.publicUrl ?? listenUrl(listen, isLoopbackHost(listen.host) ? 'http' : 'https');
  const layout = siteDataLayout(options.dataDir);
  await prepareEmptyFolder(options.dataDir);
  await mkdir(layout.keysDir, { recursive: true, mode: 0o700 });

  let secret: KeySecret;
  if (options.passphrase !== null) {
    secret = { passphrase: options.passphrase };
  } else {
    await createSecretFile(layout.keySecret);
    secret = { secretFile: layout.keySecret };
  }
  const keyOptions = options.keyFileCost === undefined ? {} : { cost: options.keyFileCost };
  const rootKey = SigningKey.generate();
  const siteKey = SigningKey.generate();
  const mpKey = SigningKey.generate();
  await Promise.all([
    writeKeyFile(layout.rootKey(1), rootKey, secret, keyOptions),
    writeKeyFile(layout.siteKey, siteKey, secret, keyOptions),
    writeKeyFile(layout.mpKey, mpKey, secret, keyOptions),
  ]);

  const now = options.now;
  const validity = certificateValidity(now);
  const root = createRootDocument(
    { version: 1, keys: [rootKey], threshold: 1, issuedAt: now, expiresAt: validity.root },
    [rootKey],
  );
  const siteCertificate = issueSiteCertificate(
    {
      version: 1,
      siteCode: code,
      siteName: options.name,
      siteKey: siteKey.publicRecord(),
      parentSiteCode: null,
      siteType: 'central',
      issuedAt: now.toISOString(),
      expiresAt: validity.site.toISOString(),
    },
    [rootKey],
  );
  const mpName = `${code}-MP1`;
  const mpCertificate = issueMpCertificate(
    {
      version: 1,
      mpName,
      siteCode: code,
      urls: [url],
      mpKey: mpKey.publicRecord(),
      issuedAt: now.toISOString(),
      expiresAt: validity.mp.toISOString(),
    },
    [rootKey],
  );

  const location = databaseLocation(options.database ?? undefined, layout.database);
  const database = await openSiteDatabase(location, { requireTls: options.databaseRequireTls === true });
  const adminPassword = randomToken(18);
  let apiToken: string;
  let enrolment: { token: string; expiresAt: Date };
  let tlsCaSha256: string;
  try {
    const db = database.db;
    await db
      .insertInto('sites')
      .values({
        code,
        name: options.name,
        site_type: 'central',
        parent_code: null,
        site_key_id: siteKey.keyId,
        certificate: siteCertificate.encoded,
        is_local: true,
        updated_at: now,
      })
      .execute();
    await saveRootDocument(db, root, 1, validity.root.toISOString());
    await saveCertificate(db, {
      kind: 'site-certificate',
      subject: code,
      siteCode: code,
      keyId: siteKey.keyId,
      serial: 1,
      issuedAt: now.toISOString(),
      expiresAt: validity.site.toISOString(),
      document: siteCertificate,
    });
    await saveCertificate(db, {
      kind: 'mp-certificate',
      subject: mpName,
      siteCode: code,
      keyId: mpKey.keyId,
      serial: 1,
      issuedAt: now.toISOString(),
      expiresAt: validity.mp.toISOString(),
      document: mpCertificate,
    });
    await registerEmbeddedSiteSystems(
      db,
      { siteCode: code, url, mpName, mpKeyId: mpKey.keyId, mpCertificate: mpCertificate.encoded },
      now,
    );
    // The hierarchy TLS CA, endorsed by the root, and the site server's first certificate.
    const caInput = { db, layout, secret, keyOptions, rootSigners: [rootKey], siteCode: code, now };
    const authority = await createSiteCertificateAuthority(caInput);
    tlsCaSha256 = authority.record.certificateSha256;
    const tls = await SiteTls.open({ ...caInput, caKey: authority.caKey });
    await tls.serverCertificate(
      serverNames(listen.host, options.publicUrl),
      options.serverCertificateDays ?? defaultServerValidityDays,
      now,
    );
    const admin = await createAccount(
      db,
      { name: 'admin', password: adminPassword, administrator: true },
      now,
    );
    apiToken = (await issueApiToken(db, admin.id, { name: 'site init' }, now)).token;
    enrolment = await createEnrolmentToken(db, {
      description: 'created by site init',
      uses: 10_000,
      expiresAt: new Date(now.getTime() + 30 * 24 * 3600 * 1000),
      now,
    });
    await appendAudit(
      db,
      {
        actor: 'site init',
        action: 'site.init',
        objectClass: 'site',
        objectId: code,
        details: {
          rootKeyId: rootKey.keyId,
          siteKeyId: siteKey.keyId,
          mpKeyId: mpKey.keyId,
          tlsCaSha256,
        },
      },
      now,
    );
  } finally {
    await database.close();
  }

  await writeSiteConfig(layout.config, {
    format: 'steward-site/v1',
    code,
    name: options.name,
    siteType: 'central',
    parentUrl: null,
    listen: options.listen,
    publicUrl: options.publicUrl,
    database: options.database,
    ...(options.databaseRequireTls === true ? { databaseRequireTls: true } : {}),
    ...(options.securityMode === 'standard' ? { securityMode: 'standard' as const } : {}),
    keyProtection: options.passphrase === null ? 'secret-file' : 'passphrase',
    rootKeyCount: 1,
    approval: options.approval,
    createdAt: now.toISOString(),
  });
  await writeFileAtomic(
    layout.credentials,
    `${JSON.stringify({ account: 'admin', password: adminPassword, token: apiToken, url }, null, 2)}\n`,
    0o600,
  );
  return {
    siteCode: code,
    siteType: 'central',
    dataDir: options.dataDir,
    rootFingerprint: rootKey.fingerprint,
    rootKeyId: rootKey.keyId,
    siteKeyFingerprint: siteKey.fingerprint,
    mpKeyFingerprint: mpKey.fingerprint,
    url,
    tlsCaSha256,
    credentialsPath: layout.credentials,
    enrolmentToken: enrolment.token,
    enrolmentTokenExpiresAt: enrolment.expiresAt.toISOString(),
    database: location.kind === 'pglite' ? 'embedded (PGlite)' : redactUrl(location.url),
  };
}

async function prepareEmptyFolder(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  if (!info.isDirectory()) throw new DataFolderError(`${dir} is not a folder`);
  const entries = await readdir(dir);
  if (entries.length > 0) {
    throw new DataFolderError(`${dir} is not empty; a site is initialised in a new or empty folder`);
  }
}
