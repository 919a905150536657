import type { ReactNode } from 'react';
import { Badge, ErrorNote, Hash, Loading, PageTitle, Section } from '../components';
import { daysUntil, formatTime } from '../format';
import { useApi } from '../hooks';
import type { TrustView } from '../types';
import { SecurityAuditSection } from './security-audit';

function Expiry(props: { at: string; revoked?: string | null }): ReactNode {
  if (props.revoked !== undefined && props.revoked !== null) return <Badge value="revoked" />;
  const days = daysUntil(props.at);
  const level = days < 0 ? 'expired' : days < 30 ? 'expiring' : 'valid';
  return (
    <span className={`expiry expiry-${level}`} title={props.at}>
      {formatTime(props.at)} ·{' '}
      {days < 0 ? `expired ${-days} days ago` : days === 0 ? 'expires today' : `${days} days left`}
    </span>
  );
}

/** The trust anchors (root key fingerprints, site and MP certificates, expiry) and the security audit. */
export function SecurityPage(): ReactNode {
  const trust = useApi<TrustView>('/trust', 60_000);
  const t = trust.data;
  return (
    <>
      <PageTitle title="Security" />
      <ErrorNote error={trust.error} />
      {t === undefined ? (
        trust.error === undefined ? (
          <Loading what="the trust chain" />
        ) : null
      ) : (
        <>
          <Section title="Root of trust">
            <p className="muted">
              Agents pin one of these fingerprints (or obtain it from the directory); every signed document
              chains to the root. Compare a fingerprint out of band before you pin it.
            </p>
            <table data-testid="root-keys">
              <thead>
                <tr>
                  <th>Root version</th>
                  <th>Threshold</th>
                  <th>Key fingerprints</th>
                  <th>Issued</th>
                  <th>Expires</th>
                </tr>
              </thead>
              <tbody>
                {t.root.map((root) => (
                  <tr key={root.version}>
                    <td>{root.version}</td>
                    <td>
                      {root.threshold} of {root.keys.length}
                    </td>
                    <td>
                      {root.keys.map((key) => (
                        <div key={key.keyId}>
                          <code title={key.keyId}>{key.fingerprint}</code>
                        </div>
                      ))}
                    </td>
                    <td>{formatTime(root.issuedAt)}</td>
                    <td>
                      <Expiry at={root.expiresAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <Section title="Certificates">
            <table data-testid="certificates">
              <thead>
                <tr>
                  <th>Kind</th>
                  <th>Subject</th>
                  <th>Site</th>
                  <th>Serial</th>
                  <th>Key fingerprint</th>
                  <th>Issued</th>
                  <th>Expires</th>
                </tr>
              </thead>
              <tbody>
                {t.certificates.map((c) => (
                  <tr key={`${c.kind}/${c.subject}/${c.serial}`}>
                    <td>{c.kind}</td>
                    <td>{c.subject}</td>
                    <td>{c.site_code}</td>
                    <td>{c.serial}</td>
                    <td>
                      <Hash value={c.keyFingerprint} length={24} />
                    </td>
                    <td>{formatTime(c.issued_at)}</td>
                    <td>
                      <Expiry at={c.expires_at} revoked={c.revoked_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
        </>
      )}
      <SecurityAuditSection />
    </>
  );
}
