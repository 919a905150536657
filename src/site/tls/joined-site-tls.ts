/**
 * The TLS material of a site that joined a hierarchy (docs/tls.md, "Site certificates"): it holds
 * no CA key. Its site server certificate was issued by the central site's hierarchy CA at join and
 * is renewed through the parent link; the newest one recorded for its own key is served.
 */
import { readFile, mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../../platform/atomic-file.js';
import type { KeySecret } from '../../trust/index.js';
import { readTlsKeyFile, siteServerCommonName, tlsKeyPem, type TlsKey } from '../../trust/tls/index.js';
import type { SiteDataLayout } from '../data-folder/layout.js';
import type { SiteDb } from '../database/site-db.js';
import { DataFolderError } from '../site-errors.js';
import { renewalTime, type ServerCertificate } from './site-tls.js';
import { latestServerCertificate, tlsAuthorities, type TlsAuthorityRecord } from './tls-store.js';

export class JoinedSiteTls {
  private constructor(
    private readonly db: SiteDb,
    private readonly layout: SiteDataLayout,
    private readonly siteCode: string,
    readonly key: TlsKey,
    readonly authority: TlsAuthorityRecord,
    readonly trusted: readonly TlsAuthorityRecord[],
  ) {}

  /** Opens the CA and key; ERR_DATA_FOLDER when the site was joined without a site certificate. */
  static async open(input: {
    db: SiteDb;
    layout: SiteDataLayout;
    secret: KeySecret;
    siteCode: string;
    now: Date;
  }): Promise<JoinedSiteTls> {
    const authorities = await tlsAuthorities(input.db);
    const current = authorities[0];
    const latest = await latestServerCertificate(input.db, siteServerCommonName(input.siteCode));
    if (current === undefined || latest === undefined) {
      throw new DataFolderError(
        'this site holds no site server certificate from the hierarchy CA (it joined before transport ' +
          'security, or its parent did not issue one): serve plain HTTP on loopback (--tls never) or join again',
      );
    }
    const key = await readTlsKeyFile(input.layout.tlsServerKey, input.secret);
    const trusted = authorities.filter((a) => a.notAfter.getTime() > input.now.getTime());
    return new JoinedSiteTls(input.db, input.layout, input.siteCode, key, current, trusted);
  }

  /** The CA certificates the site trusts for servers and clients of its hierarchy. */
  get caCertificatePems(): string[] {
    return this.trusted.map((a) => a.certificatePem);
  }

  get bundleFields(): { tlsCaCertificate: string; tlsCaEndorsement: string } {
    return { tlsCaCertificate: this.authority.certificatePem, tlsCaEndorsement: this.authority.endorsement };
  }

  /** The newest certificate recorded for this site's key (undefined when none is). */
  async latest(): Promise<ServerCertificate | undefined> {
    const latest = await latestServerCertificate(this.db, siteServerCommonName(this.siteCode));
    if (latest === undefined || latest.publicKeySha256 !== this.key.publicKeySha256) return undefined;
    const current = await readFile(this.layout.tlsServerCertificate, 'utf8').catch(() => undefined);
    if (current !== latest.certificatePem) {
      await mkdir(this.layout.tlsDir, { recursive: true, mode: 0o755 });
      await writeFileAtomic(this.layout.tlsServerCertificate, latest.certificatePem, 0o644);
    }
    return {
      certificatePem: latest.certificatePem,
      keyPem: tlsKeyPem(this.key),
      serialHex: latest.serialHex,
      notBefore: latest.notBefore,
      notAfter: latest.notAfter,
      renewAt: renewalTime(latest.notBefore, latest.notAfter),
    };
  }
}
