import { fail, pass, warn, type SecurityCheck } from '../security-check.js';

/**
 * S1: clients are approved manually, by an enrolment token, or by the directory; `automatic`
 * approves every client that proves possession of its own key, that is anyone who can reach the
 * management point. Directory approval trusts a machine account for a name (docs/directory.md,
 * section 8), so it warns.
 */
export const clientApproval: SecurityCheck = {
  id: 'client-approval',
  practice:
    'Approve clients by enrolment token, by an administrator or by the directory, never automatically.',
  run: async ({ db, config, now }) => {
    const tokens = await db
      .selectFrom('enrolment_tokens')
      .select(['uses_left'])
      .where('expires_at', '>', now)
      .where('uses_left', '>', 0)
      .execute();
    const uses = tokens.reduce((sum, t) => sum + t.uses_left, 0);
    const live = ` ${tokens.length} enrolment token${tokens.length === 1 ? '' : 's'} in date with ${uses} use${uses === 1 ? '' : 's'} left.`;
    switch (config.approval) {
      case 'automatic':
        return fail(
          `Client approval is automatic: every client that registers is approved.${live}`,
          'Approve clients by enrolment token (site.json "approval": "token", then restart) and approve ' +
            'the others by hand (steward client approve); revoke clients you do not recognise.',
        );
      case 'directory':
        return warn(
          `Clients are approved when the directory holds a machine account of their name.${live}`,
          'Use directory approval only where the networks agents register from are trusted (a name is ' +
            'not a machine); prefer enrolment tokens elsewhere (docs/directory.md, section 8).',
        );
      default:
        return pass(
          `Clients are approved by ${config.approval === 'manual' ? 'an administrator' : 'enrolment token or by an administrator'}.${live}`,
        );
    }
  },
};
