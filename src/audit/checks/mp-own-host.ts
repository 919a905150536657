import { pass, warn, type SecurityCheck } from '../security-check.js';
import { managementPoints } from './management-points.js';

/**
 * The management point on its own host: an attack on the MP's web server (it answers every client)
 * should not hand over the site server, its keys and its database (issue 10: `steward mp start`).
 * An MP embedded in the site server is what a small site runs, so it warns rather than fails.
 */
export const mpOwnHost: SecurityCheck = {
  id: 'mp-own-host',
  practice: 'Run the management point on its own host, not in the site server.',
  run: async ({ db, config }) => {
    const mps = (await managementPoints(db)).filter((mp) => mp.site_code === config.code);
    const embedded = mps.filter((mp) => mp.embedded);
    const own = mps.filter((mp) => !mp.embedded);
    const evidence =
      `Management points of ${config.code}: ` +
      (mps.length === 0
        ? 'none.'
        : mps.map((mp) => `${mp.name} (${mp.embedded ? 'in the site server' : 'own host'})`).join(', ') +
          '.');
    if (embedded.length === 0) return pass(evidence);
    return warn(
      evidence,
      'Run a management point on its own host (steward mp start --data DIR --database URL, reading a ' +
        'replica) and turn the embedded one off, so that the site server host serves no client traffic ' +
        (own.length > 0
          ? '(an MP on its own host already runs: retire the embedded one).'
          : '(docs/operations.md).'),
    );
  },
};
