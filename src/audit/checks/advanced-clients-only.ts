import { legacyClientAuditFacts } from '../../roles/legacy-point/index.js';
import { fail, pass, plural, warn, type SecurityCheck } from '../security-check.js';

/**
 * Advanced clients only: legacy clients (docs/legacy-client.md) cannot hold a client key or check
 * policy, and those without openssl cannot check signatures at all. They are counted here.
 */
export const advancedClientsOnly: SecurityCheck = {
  id: 'advanced-clients-only',
  practice: 'Use advanced clients (the agent) only; legacy clients are counted and kept to a minimum.',
  run: async ({ db }) => {
    const facts = await legacyClientAuditFacts(db);
    const agents = (
      await db
        .selectFrom('clients')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('kind', '=', 'agent')
        .where('state', '!=', 'revoked')
        .executeTakeFirstOrThrow()
    ).n;
    const active = facts.clients.verifying + facts.clients.unverified;
    const evidence =
      `${plural(agents, 'agent')} and ${plural(active, 'legacy client')} not revoked ` +
      `(${facts.clients.verifying} checking signatures with openssl, ${facts.clients.unverified} ` +
      `checking hashes only); legacy clients are ${facts.enabled ? 'enabled' : 'disabled'}` +
      `${facts.allowUnverified ? ', and clients that cannot check signatures may receive deployments' : ''}.`;
    const fix =
      'Install the agent on these machines and revoke their legacy clients; then ' +
      '"steward site legacy-clients disable" (docs/legacy-client.md).';
    if (facts.allowUnverified || facts.clients.unverified > 0) {
      return fail(
        evidence,
        `${fix} Until then, turn off deployments to clients that cannot check signatures.`,
      );
    }
    if (facts.enabled || active > 0) return warn(evidence, fix);
    return pass(evidence);
  },
};
