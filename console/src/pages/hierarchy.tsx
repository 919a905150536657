import type { ReactNode } from 'react';
import { Badge, ErrorNote, Hash, Loading, PageTitle, Section } from '../components';
import { formatAge } from '../format';
import { useApi } from '../hooks';
import type { SiteView } from '../types';

/**
 * This site and its site systems. Sites report no parent, children, links or replication backlogs
 * yet (the hierarchy is not built), so the page says plainly that this is a single site.
 */
export function HierarchyPage(): ReactNode {
  const site = useApi<SiteView>('/site', 15_000);
  const s = site.data;
  return (
    <>
      <PageTitle title="Hierarchy" />
      <ErrorNote error={site.error} />
      {s === undefined ? (
        site.error === undefined ? (
          <Loading what="the site" />
        ) : null
      ) : (
        <>
          <Section title="Sites">
            <div className="hierarchy" data-testid="hierarchy">
              <div className="site-node">
                <strong>{s.code}</strong>
                <span>{s.name}</span>
                <span className="muted">
                  {s.type} site · {s.url}
                </span>
              </div>
            </div>
            <p className="notice" data-testid="single-site">
              Single site: this is a {s.type} site with no parent and no child sites. Links between sites and
              their replication backlogs will be shown here once the site hierarchy is built; the site reports
              none today.
            </p>
          </Section>
          <Section title={`Site systems of ${s.code}`}>
            <table data-testid="site-systems">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Role</th>
                  <th>Addresses</th>
                  <th>Embedded</th>
                  <th>Health</th>
                  <th>Key fingerprint</th>
                  <th>Last seen</th>
                </tr>
              </thead>
              <tbody>
                {s.siteSystems.map((system) => (
                  <tr key={`${system.name}/${system.role}`}>
                    <td>{system.name}</td>
                    <td>{system.role}</td>
                    <td>{system.urls.join(', ')}</td>
                    <td>{system.embedded ? 'in the site server' : 'own host'}</td>
                    <td>
                      <Badge value={system.health} />
                    </td>
                    <td>
                      <Hash value={system.keyFingerprint} length={24} />
                    </td>
                    <td>{formatAge(system.lastSeenAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
        </>
      )}
    </>
  );
}
