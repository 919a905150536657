/**
 * The central site's hierarchy TLS CA at work (docs/tls.md): created at `site init` (its key
 * encrypted in keys/tls-ca.key, its certificate and the root's endorsement in the database and in
 * tls/ca.pem), the site server's certificate issued for the names it serves and renewed before it
 * expires, client certificates for approved agents, and the revoked serials every listener refuses.
 */
import { access, mkdir, readFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { writeFileAtomic } from '../../platform/atomic-file.js';
import type { KeyFileOptions, KeySecret, SigningKey } from '../../trust/index.js';
import {
  certificateNeedsRenewal,
  certifyClientPublicKey,
  certifySiteServerKey,
  siteServerCommonName,
  createHierarchyCa,
  defaultRenewalFraction,
  describeCertificate,
  issueServerCertificate,
  openCertificateAuthority,
  readTlsKeyFile,
  tlsKeyPem,
  tlsOptionsFor,
  writeTlsKeyFile,
  type CertificateAuthority,
  type CertifiedPublicKey,
  type SiteTlsPublicKey,
  type TlsClientOptions,
  type TlsKey,
  type TlsPublicKey,
} from '../../trust/tls/index.js';
import type { SiteDataLayout } from '../data-folder/layout.js';
import type { SiteDb } from '../database/site-db.js';
import { DataFolderError } from '../site-errors.js';
import { ClientRevocations } from './client-revocations.js';
import {
  latestServerCertificate,
  saveIssuedCertificate,
  saveTlsAuthority,
  tlsAuthorities,
  type TlsAuthorityRecord,
} from './tls-store.js';

/** What a new CA needs: root keys to endorse it, and where its key goes. */
export interface CreateCaInput {
  db: SiteDb;
  layout: SiteDataLayout;
  secret: KeySecret;
  keyOptions?: KeyFileOptions;
  rootSigners: readonly SigningKey[];
  siteCode: string;
  now: Date;
  version?: number;
}

/** Creates the hierarchy CA: key file, database row, tls/ca.pem. Returns the record and the CA key. */
export async function createSiteCertificateAuthority(
  input: CreateCaInput,
): Promise<{ record: TlsAuthorityRecord; caKey: TlsKey }> {
  if (input.rootSigners.length === 0) {
    throw new DataFolderError(
      'the hierarchy TLS CA needs the root key to endorse it, and no root key is in keys/',
    );
  }
  const version = input.version ?? 1;
  const ca = await createHierarchyCa({
    rootSigners: input.rootSigners,
    siteCode: input.siteCode,
    now: input.now,
    version,
  });
  await mkdir(input.layout.keysDir, { recursive: true, mode: 0o700 });
  await writeTlsKeyFile(input.layout.tlsCaKey, ca.caKey, input.secret, input.keyOptions ?? {});
  const summary = describeCertificate(ca.caCertificatePem);
  const record: TlsAuthorityRecord = {
    version,
    siteCode: input.siteCode,
    certificatePem: ca.caCertificatePem,
    certificateSha256: summary.sha256,
    endorsement: ca.endorsement.encoded,
    notAfter: summary.notAfter,
  };
  await saveTlsAuthority(input.db, record);
  await writePublicPem(input.layout, input.layout.tlsCaCertificate, ca.caCertificatePem);
  return { record, caKey: ca.caKey };
}

/** The names a site server's certificate carries: DNS names and IP addresses. */
export interface ServerNames {
  dnsNames: string[];
  ipAddresses: string[];
}

/**
 * The names a listener serves: its host (for a wildcard address, this machine's name, `localhost`
 * and every interface address) and the host of the public URL. At most 64.
 */
export function serverNames(listenHost: string, publicUrl: string | null): ServerNames {
  const dns = new Set<string>();
  const ips = new Set<string>();
  const add = (name: string) => {
    const bare = name.replace(/^\[|\]$/g, '');
    if (isIP(bare) !== 0) ips.add(bare);
    else if (/^[A-Za-z0-9.-]{1,253}$/.test(bare)) dns.add(bare.toLowerCase());
  };
  if (listenHost === '0.0.0.0' || listenHost === '::') {
    add(hostname());
    add('localhost');
    for (const addresses of Object.values(networkInterfaces())) {
      for (const address of addresses ?? []) {
        if (listenHost === '0.0.0.0' && address.family !== 'IPv4') continue;
        if (!address.address.includes('%')) add(address.address);
      }
    }
  } else {
    add(listenHost);
  }
  if (publicUrl !== null && URL.canParse(publicUrl)) add(new URL(publicUrl).hostname);
  return { dnsNames: [...dns].slice(0, 32), ipAddresses: [...ips].slice(0, 32) };
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return [...a].sort().join(' ') === [...b].sort().join(' ');
}

/** A server certificate ready for a listener. */
export interface ServerCertificate {
  certificatePem: string;
  keyPem: string;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  /** When it should be renewed (a quarter of its validity left). */
  renewAt: Date;
}

/** The hierarchy CA of a running central site. */
export class SiteTls {
  /** The revoked client certificates every listener of the site refuses. */
  readonly revocations: ClientRevocations;

  private constructor(
    private readonly db: SiteDb,
    private readonly layout: SiteDataLayout,
    private readonly secret: KeySecret,
    private readonly keyOptions: KeyFileOptions,
    private readonly siteCode: string,
    readonly authority: TlsAuthorityRecord,
    readonly trusted: readonly TlsAuthorityRecord[],
    private readonly ca: CertificateAuthority,
  ) {
    this.revocations = new ClientRevocations(db);
  }

  /**
   * Opens the CA (creating it first in a data folder made before transport security, when the root
   * key is here) and loads the revoked serials.
   */
  static async open(input: Omit<CreateCaInput, 'version'> & { caKey?: TlsKey }): Promise<SiteTls> {
    let authorities = await tlsAuthorities(input.db);
    let caKey = input.caKey;
    if (authorities.length === 0) {
      caKey = (await createSiteCertificateAuthority(input)).caKey;
      authorities = await tlsAuthorities(input.db);
    }
    const current = authorities[0];
    if (current === undefined) throw new DataFolderError('the site database holds no hierarchy TLS CA');
    caKey ??= await readTlsKeyFile(input.layout.tlsCaKey, input.secret);
    const ca = openCertificateAuthority(current.certificatePem, caKey);
    const trusted = authorities.filter((a) => a.notAfter.getTime() > input.now.getTime());
    const tls = new SiteTls(
      input.db,
      input.layout,
      input.secret,
      input.keyOptions ?? {},
      input.siteCode,
      current,
      trusted,
      ca,
    );
    await writePublicPem(input.layout, input.layout.tlsCaCertificate, current.certificatePem);
    await tls.revocations.refresh(input.now);
    return tls;
  }

  /** The CA certificates clients may present certificates from (during a CA change, two). */
  get caCertificatePems(): string[] {
    return this.trusted.map((a) => a.certificatePem);
  }

  /** The trust bundle's TLS fields: the current CA and its endorsement. */
  get bundleFields(): { tlsCaCertificate: string; tlsCaEndorsement: string } {
    return { tlsCaCertificate: this.authority.certificatePem, tlsCaEndorsement: this.authority.endorsement };
  }

  /** The CA with its key, to certify site systems installed on other hosts (docs/scale-out.md). */
  get issuing(): { ca: CertificateAuthority; record: TlsAuthorityRecord } {
    return { ca: this.ca, record: this.authority };
  }

  /**
   * The site server's certificate for these names: the stored one when its key file matches, it
   * names exactly these, comes from the current CA and is not due for renewal; a new one otherwise.
   */
  async serverCertificate(
    names: ServerNames,
    validityDays: number,
    now: Date,
  ): Promise<ServerCertificate & { renewed: boolean }> {
    const subject = `${this.siteCode} site server`;
    const allNames = [...names.dnsNames, ...names.ipAddresses];
    const latest = await latestServerCertificate(this.db, subject);
    if (
      latest !== undefined &&
      latest.caVersion === this.authority.version &&
      sameNames(latest.names, allNames) &&
      !certificateNeedsRenewal(latest.certificatePem, now) &&
      (await exists(this.layout.tlsServerKey))
    ) {
      const key = await readTlsKeyFile(this.layout.tlsServerKey, this.secret).catch(() => undefined);
      if (key !== undefined && key.publicKeySha256 === latest.publicKeySha256) {
        await writePublicPem(this.layout, this.layout.tlsServerCertificate, latest.certificatePem);
        return {
          certificatePem: latest.certificatePem,
          keyPem: tlsKeyPem(key),
          serialHex: latest.serialHex,
          notBefore: latest.notBefore,
          notAfter: latest.notAfter,
          renewAt: renewalTime(latest.notBefore, latest.notAfter),
          renewed: false,
        };
      }
    }
    const issued = await issueServerCertificate(this.ca, {
      commonName: subject,
      dnsNames: names.dnsNames,
      ipAddresses: names.ipAddresses,
      validityDays,
      now,
      clientAuth: true,
    });
    // The key first: a crash before the row leaves a key no certificate names, and the next start
    // issues again; the other order would leave a certificate without its key.
    await writeTlsKeyFile(this.layout.tlsServerKey, issued.key, this.secret, this.keyOptions);
    await saveIssuedCertificate(this.db, {
      serialHex: issued.serialHex,
      caVersion: this.authority.version,
      kind: 'server',
      subject,
      clientId: null,
      names: allNames,
      publicKeySha256: issued.key.publicKeySha256,
      certificatePem: issued.certificatePem,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      issuedAt: now,
    });
    await writePublicPem(this.layout, this.layout.tlsServerCertificate, issued.certificatePem);
    return {
      certificatePem: issued.certificatePem,
      keyPem: issued.keyPem,
      serialHex: issued.serialHex,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      renewAt: renewalTime(issued.notBefore, issued.notAfter),
      renewed: true,
    };
  }

  /**
   * Certifies another site server's TLS public key (a child site's, from its join or renewal
   * request) and records it, in the caller's transaction when one is open.
   */
  async certifySiteServer(
    db: SiteDb,
    input: { siteCode: string; key: SiteTlsPublicKey; names: ServerNames; validityDays: number; now: Date },
  ): Promise<CertifiedPublicKey> {
    const issued = await certifySiteServerKey(this.ca, {
      siteCode: input.siteCode,
      publicKey: input.key.publicKey,
      dnsNames: input.names.dnsNames,
      ipAddresses: input.names.ipAddresses,
      validityDays: input.validityDays,
      now: input.now,
    });
    await saveIssuedCertificate(db, {
      serialHex: issued.serialHex,
      caVersion: this.authority.version,
      kind: 'server',
      subject: siteServerCommonName(input.siteCode),
      clientId: null,
      names: [...input.names.dnsNames, ...input.names.ipAddresses],
      publicKeySha256: input.key.publicKeySha256,
      certificatePem: issued.certificatePem,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      issuedAt: input.now,
    });
    return issued;
  }

  /**
   * Certifies an approved client's TLS public key (from a verified request) and records it, in the
   * caller's transaction when one is open (a request relayed from a joined site).
   */
  async certifyClient(
    clientId: string,
    publicKey: TlsPublicKey,
    publicKeySha256: string,
    validityDays: number,
    now: Date,
    db: SiteDb = this.db,
  ): Promise<CertifiedPublicKey> {
    const issued = await certifyClientPublicKey(this.ca, { clientId, publicKey, validityDays, now });
    await saveIssuedCertificate(db, {
      serialHex: issued.serialHex,
      caVersion: this.authority.version,
      kind: 'client',
      subject: clientId,
      clientId,
      names: [],
      publicKeySha256,
      certificatePem: issued.certificatePem,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      issuedAt: now,
    });
    return issued;
  }
}

/**
 * TLS client options for site links: the hierarchy CA only (never the system store), and this
 * site's server certificate, which carries clientAuth, as the client certificate.
 */
export function siteLinkTls(caPems: readonly string[], certificate: ServerCertificate): TlsClientOptions {
  return tlsOptionsFor({
    caPem: caPems,
    clientCertPem: certificate.certificatePem,
    clientKeyPem: certificate.keyPem,
  });
}

/** When a certificate is due: a quarter of its validity left (certificateNeedsRenewal). */
export function renewalTime(notBefore: Date, notAfter: Date): Date {
  const total = notAfter.getTime() - notBefore.getTime();
  return new Date(notAfter.getTime() - total * defaultRenewalFraction);
}

async function writePublicPem(layout: SiteDataLayout, path: string, pem: string): Promise<void> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === pem) return;
  await mkdir(layout.tlsDir, { recursive: true, mode: 0o755 });
  await writeFileAtomic(path, pem, 0o644);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
