import { fail, pass, plural, type SecurityCheck } from '../security-check.js';
import { countAgentsBy, describeCounts, sampleHosts, total } from './client-counts.js';

/**
 * C1: a client's root should come from a fingerprint pinned at install or from the directory. A
 * root trusted on first use came from whichever management point answered first: a rogue one at
 * that moment owns the client for good.
 */
export const clientRoots: SecurityCheck = {
  id: 'client-roots-pinned',
  practice: 'Clients hold a pinned or directory-obtained root, not one trusted on first use.',
  run: async ({ db }) => {
    const rows = await countAgentsBy(db, 'root_source');
    const all = total(rows, () => true);
    if (all === 0) return pass('No agents are registered (not revoked) yet.');
    const firstUse = total(rows, (value) => value === 'first-use');
    const evidence = `Roots of ${plural(all, 'agent')} not revoked: ${describeCounts(rows)}.`;
    if (firstUse === 0) return pass(evidence);
    const hosts = await sampleHosts(db, 'root_source', 'first-use');
    return fail(
      `${evidence} Trusted on first use: ${hosts.join(', ')}${firstUse > hosts.length ? ', …' : ''}.`,
      'Enrol agents with the root key fingerprint pinned (steward agent enroll --root-key sha256:…, ' +
        'from "steward site init" or "steward trust show", compared out of band), or from the directory. ' +
        'Re-enrol, or revoke, the agents that trusted their root on first use.',
    );
  },
};
