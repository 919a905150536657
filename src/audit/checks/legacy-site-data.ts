import { knownSites } from '../hierarchy-facts.js';
import { fail, pass, warn, type SecurityCheck } from '../security-check.js';

/**
 * S3: site-to-site data is verified against the sender's certified site key; unsigned data is
 * accepted only from sites listed under legacy interop. Every site's setting is checked (the
 * others' from their site control), and unsigned batches this site received are counted.
 */
export const legacySiteData: SecurityCheck = {
  id: 'legacy-site-data-refused',
  practice: 'Refuse unsigned site data: legacy site interop stays off.',
  run: async (context) => {
    const sites = await knownSites(context);
    const interop = sites.filter((site) => site.settings?.legacyInterop === true);
    const unknown = sites.filter((site) => site.settings === null);
    const unsigned = (
      await context.db
        .selectFrom('site_message_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('unsigned', '=', true)
        .executeTakeFirstOrThrow()
    ).n;
    const received = ` This site has received ${unsigned} unsigned batch${unsigned === 1 ? '' : 'es'}.`;
    const legacySites = context.config.hierarchy?.legacySites ?? [];
    if (interop.length > 0) {
      return fail(
        `Legacy site interop (unsigned site data accepted) is on at ${interop.map((s) => s.code).join(', ')}` +
          `${legacySites.length > 0 ? `; this site accepts unsigned data from ${legacySites.join(', ')}` : ''}.${received}`,
        'Upgrade the legacy sites so that they sign, then set "hierarchy": {"legacyInterop": false, ' +
          '"legacySites": []} in site.json at each site named and restart it (docs/hierarchy.md).',
      );
    }
    const evidence = `Unsigned site data is refused (S3) at ${sites
      .filter((s) => s.settings !== null)
      .map((s) => s.code)
      .join(', ')}.${received}`;
    if (unknown.length > 0 || unsigned > 0) {
      return warn(
        `${evidence}${unknown.length > 0 ? ` Not known for ${unknown.map((s) => s.code).join(', ')} (no site control received).` : ''}`,
        unsigned > 0
          ? 'Unsigned batches were accepted while interop was on: review what they changed (steward site status --json shows each link).'
          : 'Check that every site links to its parent and sends its site control (steward site status).',
      );
    }
    return pass(evidence);
  },
};
