import { knownSites } from '../hierarchy-facts.js';
import { fail, pass, plural, warn, type SecurityCheck } from '../security-check.js';
import { managementPoints } from './management-points.js';

/**
 * Proxy management points (at secondary sites) are counted, and their channel to the site data is
 * protected. A proxy MP has no database: it reads its parent's signed policy and forwards client
 * reports (inventory included) over the site link to its parent, so that link is its database
 * channel, and it is protected when the parent serves HTTPS (docs/tls.md, docs/hierarchy.md).
 */
export const proxyMpChannel: SecurityCheck = {
  id: 'proxy-mp-channel',
  practice:
    'Count the proxy management points and protect their channel to the site data (TLS to the parent site).',
  run: async (context) => {
    const sites = await knownSites(context);
    const secondaries = sites.filter((site) => site.type === 'secondary');
    if (secondaries.length === 0) {
      return pass('No proxy management points: no secondary site is known here.');
    }
    const mps = await managementPoints(context.db);
    const proxies = mps.filter((mp) => secondaries.some((site) => site.code === mp.site_code));
    const byCode = new Map(sites.map((site) => [site.code, site] as const));
    const channels = secondaries.map((secondary) => {
      const parent = secondary.parentCode === null ? undefined : byCode.get(secondary.parentCode);
      const scheme =
        parent === undefined
          ? 'unknown'
          : parent.local
            ? context.transport.scheme
            : parent.url === null
              ? 'unknown'
              : new URL(parent.url).protocol.replace(':', '');
      return { secondary, parent: secondary.parentCode ?? '?', scheme };
    });
    const evidence =
      `${plural(proxies.length, 'proxy management point')} at ${plural(secondaries.length, 'secondary site')} ` +
      `(${proxies.map((mp) => `${mp.name} at ${mp.site_code}`).join(', ') || 'none reported yet'}); ` +
      `their channel to the parent: ${channels.map((c) => `${c.secondary.code} → ${c.parent} over ${c.scheme}`).join(', ')}.`;
    const fix =
      'Serve HTTPS at every parent of a secondary site (steward site start --tls auto on a network ' +
      'address, or --tls always; docs/tls.md), and join secondary sites with an https:// parent URL. ' +
      'Where that cannot be done, put the link on a protected network or behind a TLS tunnel.';
    if (channels.some((c) => c.scheme === 'http')) return fail(evidence, fix);
    if (channels.some((c) => c.scheme !== 'https')) return warn(evidence, fix);
    return pass(evidence);
  },
};
