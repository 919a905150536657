import { knownSites } from '../hierarchy-facts.js';
import { fail, pass, warn, type SecurityCheck } from '../security-check.js';

/**
 * Secure key exchange between sites (DESIGN.md section 2): a child joins with a one-time join token
 * that carries the parent's key fingerprint and a secret. `automaticKeyExchange` lets a site join
 * without one (trust on first use between sites): anyone who reaches the parent can add a site.
 * Every site's setting is checked, the others' from their site control.
 */
export const secureKeyExchange: SecurityCheck = {
  id: 'secure-key-exchange',
  practice: 'Require secure key exchange between sites: no site joins without a join token.',
  run: async (context) => {
    const sites = await knownSites(context);
    const open = sites.filter((site) => site.settings?.automaticKeyExchange === true);
    const unknown = sites.filter((site) => site.settings === null);
    const unused = (
      await context.db
        .selectFrom('hierarchy_join_tokens')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('used_at', 'is', null)
        .where('expires_at', '>', context.now)
        .executeTakeFirstOrThrow()
    ).n;
    const tokens = ` ${unused} unused join token${unused === 1 ? '' : 's'} in date at this site.`;
    if (open.length > 0) {
      return fail(
        `Automatic key exchange (joins without a token) is on at ${open.map((s) => s.code).join(', ')}.${tokens}`,
        'Set "hierarchy": {"automaticKeyExchange": false} in site.json at each site named and restart it; ' +
          'join sites with a token from "steward site join-token" (docs/hierarchy.md).',
      );
    }
    const evidence = `Joins need a join token at ${sites
      .filter((s) => s.settings !== null)
      .map((s) => s.code)
      .join(', ')}.${tokens}`;
    if (unknown.length > 0) {
      return warn(
        `${evidence} Not known for ${unknown.map((s) => s.code).join(', ')} (no site control received).`,
        'Check that every site links to its parent and sends its site control (steward site status).',
      );
    }
    return pass(evidence);
  },
};
