import { fail, pass, plural, type SecurityCheck } from '../security-check.js';
import { countAgentsBy, describeCounts, sampleHosts, total } from './client-counts.js';

/**
 * C2: in `secure` and `directory-only` mode an agent accepts only MP keys that chain to a known
 * root; `trust-on-first-use` mode trusts the first MP it meets (the "secure WINS" choice of SMS).
 */
export const clientModes: SecurityCheck = {
  id: 'client-secure-mode',
  practice: 'Clients run in secure or directory-only mode, never trust on first use.',
  run: async ({ db }) => {
    const rows = await countAgentsBy(db, 'mode');
    const all = total(rows, () => true);
    if (all === 0) return pass('No agents are registered (not revoked) yet.');
    const evidence = `Modes of ${plural(all, 'agent')} not revoked: ${describeCounts(rows)}.`;
    const insecure = total(rows, (value) => value === 'trust-on-first-use');
    if (insecure === 0) return pass(evidence);
    const hosts = await sampleHosts(db, 'mode', 'trust-on-first-use');
    return fail(
      `${evidence} In trust-on-first-use mode: ${hosts.join(', ')}${insecure > hosts.length ? ', …' : ''}.`,
      'Enrol agents with --mode secure (the default with --root-key) or --mode directory-only ' +
        '(steward agent enroll, docs/agent.md); re-enrol the agents listed.',
    );
  },
};
