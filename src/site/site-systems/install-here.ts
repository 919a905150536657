import { mkdir, readdir, stat } from 'node:fs/promises';
import {
  createSecretFile,
  describeCertificate,
  fingerprintOf,
  httpsFetchUnverified,
  HttpsRequestError,
  isIssuedBy,
  siteSystemProof,
  siteSystemProofKey,
  SigningKey,
  tlsOptionsFor,
  TlsKey,
  trustRootFromPin,
  verifyCaEndorsement,
  verifyMpCertificate,
  writeKeyFile,
  writeTlsKeyFile,
  PayloadInvalidError,
  type KeyFileOptions,
  type KeySecret,
  type TlsClientOptions,
  type TrustedRoot,
} from '../../trust/index.js';
import { writeFileAtomic } from '../../platform/atomic-file.js';
import {
  installAnswerSchema,
  siteSystemPaths,
  siteSystemTrustSchema,
  UsageError,
  type InstallAnswer,
  type SiteSystemRole,
  type SiteSystemTrust,
} from '../../protocol/index.js';
import { SiteConnection } from './site-connection.js';
import { SiteSystemFolderError, SiteUnreachableError } from './site-system-errors.js';
import {
  siteSystemLayout,
  writeSiteSystemConfig,
  writeSiteSystemTrust,
  type SiteSystemConfig,
} from './site-system-folder.js';
import { decodeSiteSystemToken } from './system-tokens.js';

export interface InstallHereOptions {
  dataDir: string;
  role: SiteSystemRole;
  siteUrl: string;
  token: string;
  name: string;
  urls: readonly string[];
  passphrase: string | null;
  now: Date;
  /** Lower key-file cost for tests only. */
  keyFileCost?: KeyFileOptions['cost'];
}

export interface InstallHereResult {
  role: SiteSystemRole;
  name: string;
  systemId: string;
  siteCode: string;
  dataDir: string;
  urls: string[];
  keyFingerprint: string;
  tls: boolean;
  mpCertificateExpiresAt: string | null;
}

/**
 * `steward mp install` / `steward dp install` (docs/scale-out.md): the site system makes its own
 * keys (never a copy of the site's), reads the site's public trust material and checks it against
 * the root the token names (C1, pinned), over HTTPS only once the root's endorsement of the
 * hierarchy CA is checked and the server's key is the one first seen; then it proves the token
 * over its name, URLs and keys, and checks what the site certified before it writes anything: the
 * MP certificate must chain to that root for this site, name this MP, its URLs and key; the TLS
 * certificate must come from the endorsed CA for its TLS key.
 */
export async function installSiteSystemHere(options: InstallHereOptions): Promise<InstallHereResult> {
  const token = decodeSiteSystemToken(options.token);
  if (token.role !== 'any' && token.role !== options.role) {
    throw new UsageError(
      `this token installs a ${token.role}, not a ${options.role} (\`steward site system-token --role ${options.role}\`)`,
    );
  }
  const layout = siteSystemLayout(options.dataDir);
  await prepareEmptyFolder(options.dataDir);
  const tlsWanted = options.urls.some((url) => url.startsWith('https:'));
  const systemKey = SigningKey.generate();
  const tlsKey = tlsWanted ? TlsKey.generate() : undefined;
  const now = options.now;

  const pinned = (offered: SiteSystemTrust) => trustRootFromPin(offered.rootChain, token.rootKeyId, now);
  const { trust, tls } = await readSiteTrust(options.siteUrl, now, pinned);
  pinned(trust);
  if (trust.siteCode !== token.siteCode) {
    throw new PayloadInvalidError(
      `the site at ${options.siteUrl} is ${trust.siteCode}, not ${token.siteCode} as the token says`,
    );
  }
  const fields = {
    tokenId: token.tokenId,
    siteCode: token.siteCode,
    role: options.role,
    name: options.name,
    urls: [...options.urls],
    systemKeyId: systemKey.keyId,
    tlsPublicKeySha256: tlsKey?.publicKeySha256 ?? null,
  };
  const connection = new SiteConnection(options.siteUrl, tls, undefined);
  const answerText = await connection.post(siteSystemPaths.install, {
    tokenId: token.tokenId,
    role: options.role,
    name: options.name,
    urls: [...options.urls],
    systemKey: systemKey.publicRecord(),
    tlsPublicKey: tlsKey === undefined ? null : Buffer.from(tlsKey.publicKeyDer()).toString('base64'),
    proof: siteSystemProof(siteSystemProofKey(token.secret), fields),
  });
  const answer = installAnswerSchema.parse(JSON.parse(answerText));
  const checked = checkAnswer(
    answer,
    { ...options, siteCode: token.siteCode, pin: token.rootKeyId, systemKey, tlsKey },
    now,
  );

  await mkdir(layout.keysDir, { recursive: true, mode: 0o700 });
  let secret: KeySecret;
  if (options.passphrase !== null) secret = { passphrase: options.passphrase };
  else {
    await createSecretFile(layout.keySecret);
    secret = { secretFile: layout.keySecret };
  }
  const keyOptions = options.keyFileCost === undefined ? {} : { cost: options.keyFileCost };
  await writeKeyFile(layout.systemKey, systemKey, secret, keyOptions);
  if (tlsKey !== undefined && answer.tlsCertificate !== null) {
    await writeTlsKeyFile(layout.tlsKey, tlsKey, secret, keyOptions);
    await mkdir(layout.tlsDir, { recursive: true, mode: 0o755 });
    await writeFileAtomic(layout.tlsServerCertificate, answer.tlsCertificate, 0o644);
  }
  if (answer.tlsCaCertificate !== undefined) {
    await mkdir(layout.tlsDir, { recursive: true, mode: 0o755 });
    await writeFileAtomic(layout.tlsCaCertificate, answer.tlsCaCertificate, 0o644);
  }
  await writeSiteSystemTrust(layout, {
    rootChain: answer.rootChain,
    siteCertificates: answer.siteCertificates,
    mpCertificate: answer.mpCertificate,
    tlsCaCertificate: answer.tlsCaCertificate ?? null,
    tlsCaEndorsement: answer.tlsCaEndorsement ?? null,
  });
  const config: SiteSystemConfig = {
    format: 'steward-site-system/v1',
    role: options.role,
    name: options.name,
    systemId: answer.systemId,
    siteCode: token.siteCode,
    siteUrl: options.siteUrl,
    urls: [...options.urls],
    rootKeyId: token.rootKeyId,
    keyProtection: options.passphrase === null ? 'secret-file' : 'passphrase',
    tls: answer.tlsCertificate !== null,
    installedAt: now.toISOString(),
  };
  await writeSiteSystemConfig(layout, config);
  return {
    role: options.role,
    name: options.name,
    systemId: answer.systemId,
    siteCode: token.siteCode,
    dataDir: options.dataDir,
    urls: [...options.urls],
    keyFingerprint: systemKey.fingerprint,
    tls: answer.tlsCertificate !== null,
    mpCertificateExpiresAt: checked.mpExpiresAt,
  };
}

/**
 * The site's public trust material. Over HTTPS the first read is not validated (the CA is not known
 * yet); it is used only to check the root's endorsement of the CA, and everything after goes over a
 * connection validated against that CA that must present the same server key.
 */
export async function readSiteTrust(
  siteUrl: string,
  now: Date,
  /** C1: the root the trust material must lead to (a pin); throws otherwise. */
  rootOf: (trust: SiteSystemTrust) => TrustedRoot,
): Promise<{ trust: SiteSystemTrust; tls: TlsClientOptions | undefined }> {
  const url = `${siteUrl.replace(/\/+$/, '')}${siteSystemPaths.trust}`;
  if (!url.startsWith('https:')) {
    const text = await new SiteConnection(siteUrl, undefined, undefined).get(siteSystemPaths.trust);
    return { trust: siteSystemTrustSchema.parse(JSON.parse(text)), tls: undefined };
  }
  let first;
  try {
    first = await httpsFetchUnverified(url, { maxBytes: 8 * 1024 * 1024, timeoutMs: 30_000 });
  } catch (cause) {
    if (cause instanceof HttpsRequestError)
      throw new SiteUnreachableError(`${url}: ${cause.message}`, { cause });
    throw cause;
  }
  const offered = siteSystemTrustSchema.parse(JSON.parse(Buffer.from(first.body).toString('utf8')));
  if (offered.tlsCaCertificate === undefined || offered.tlsCaEndorsement === undefined) {
    throw new PayloadInvalidError(`${siteUrl} serves HTTPS but names no hierarchy CA`);
  }
  const root = rootOf(offered);
  const ca = verifyCaEndorsement(offered.tlsCaEndorsement, offered.tlsCaCertificate, root, now);
  const tls = tlsOptionsFor({
    caPem: ca.caCertificatePem,
    serverPublicKeySha256: first.serverPublicKeySha256,
  });
  const text = await new SiteConnection(siteUrl, tls, undefined).get(siteSystemPaths.trust, 8 * 1024 * 1024);
  return {
    trust: siteSystemTrustSchema.parse(JSON.parse(text)),
    tls: tlsOptionsFor({ caPem: ca.caCertificatePem }),
  };
}

function checkAnswer(
  answer: InstallAnswer,
  expected: {
    role: SiteSystemRole;
    name: string;
    urls: readonly string[];
    siteCode: string;
    pin: string;
    systemKey: SigningKey;
    tlsKey: TlsKey | undefined;
  },
  now: Date,
): { mpExpiresAt: string | null } {
  const root = trustRootFromPin(answer.rootChain, expected.pin, now);
  if (answer.siteCode !== expected.siteCode) {
    throw new PayloadInvalidError(`the site answered for site ${answer.siteCode}, not ${expected.siteCode}`);
  }
  let mpExpiresAt: string | null = null;
  if (expected.role === 'management-point') {
    if (answer.mpCertificate === null) throw new PayloadInvalidError('the site sent no MP certificate');
    // C2, as agents will check it: root-signed, for this site, in date; and for this MP exactly.
    const mp = verifyMpCertificate(answer.mpCertificate, root, now, expected.siteCode);
    if (
      mp.key.keyId !== expected.systemKey.keyId ||
      mp.payload.mpName !== expected.name ||
      mp.payload.urls.join(' ') !== expected.urls.join(' ')
    ) {
      throw new PayloadInvalidError('the MP certificate the site sent is not for this MP, its URLs and key');
    }
    mpExpiresAt = mp.payload.expiresAt;
  }
  if (expected.tlsKey !== undefined) {
    if (
      answer.tlsCertificate === null ||
      answer.tlsCaCertificate === undefined ||
      answer.tlsCaEndorsement === undefined
    ) {
      throw new PayloadInvalidError('the site issued no TLS certificate for the https URL');
    }
    const ca = verifyCaEndorsement(answer.tlsCaEndorsement, answer.tlsCaCertificate, root, now);
    const summary = describeCertificate(answer.tlsCertificate);
    if (
      !isIssuedBy(answer.tlsCertificate, ca.caCertificatePem) ||
      summary.publicKeySha256 !== expected.tlsKey.publicKeySha256
    ) {
      throw new PayloadInvalidError(
        'the TLS certificate the site sent is not from the hierarchy CA for this key',
      );
    }
  }
  return { mpExpiresAt };
}

async function prepareEmptyFolder(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  if (!info.isDirectory()) throw new SiteSystemFolderError(`${dir} is not a folder`);
  if ((await readdir(dir)).length > 0) {
    throw new SiteSystemFolderError(
      `${dir} is not empty; a site system is installed in a new or empty folder`,
    );
  }
}

/** The fingerprint of a key id, as people compare it. */
export function keyFingerprint(keyId: string): string {
  return fingerprintOf(keyId);
}
