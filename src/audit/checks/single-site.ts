import { knownSites } from '../hierarchy-facts.js';
import { pass, plural, warn, type SecurityCheck } from '../security-check.js';

/**
 * As few sites as serve the need: every site is another server holding a site key agents trust,
 * another database and another link (docs/hierarchy.md, "Planning: one site if you can"). Whether
 * a site is needed is a judgement, so a hierarchy warns and never fails; the evidence lists each
 * site with its clients, and calls out a site that serves none.
 */
export const singleSite: SecurityCheck = {
  id: 'single-site',
  practice: 'Use as few sites as serve the need: a single site wherever one is enough.',
  run: async (context) => {
    const sites = await knownSites(context);
    if (sites.length <= 1) {
      return pass(`This is a single site (${context.config.code}, ${context.config.siteType}).`);
    }
    const counts = new Map(
      (
        await context.db
          .selectFrom('clients')
          .select(['site_code', (eb) => eb.fn.countAll<number>().as('n')])
          .where('state', '!=', 'revoked')
          .groupBy('site_code')
          .execute()
      ).map((row) => [row.site_code, row.n] as const),
    );
    const described = sites.map((site) => {
      const clients = counts.get(site.code) ?? 0;
      const serves = site.type === 'secondary' ? "its parent's clients" : plural(clients, 'client');
      return `${site.code} (${site.type}${site.local ? ', this site' : ''}: ${serves})`;
    });
    const idle = sites.filter(
      (site) => site.type === 'primary' && (counts.get(site.code) ?? 0) === 0 && !site.local,
    );
    return warn(
      `The hierarchy has ${plural(sites.length, 'site')} known here: ${described.join('; ')}.` +
        (idle.length === 0
          ? ''
          : ` ${idle.map((s) => s.code).join(', ')} ${idle.length === 1 ? 'serves' : 'serve'} no clients.`),
      'Keep a site only where it is needed: a secondary site for a branch behind a slow link, a primary ' +
        'where administration or data must stay apart. One site with distribution points (and ' +
        'management points on their own hosts) serves tens of thousands of clients (docs/hierarchy.md).',
    );
  },
};
