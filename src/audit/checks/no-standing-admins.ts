import { fail, pass, warn, type SecurityCheck } from '../security-check.js';
import { ageDays, enabledAdminAccounts, longLivedTokenDays, staleTokenDays } from './admin-accounts.js';

/**
 * No standing high-rights accounts. The rule (docs/audit.md):
 *
 * - a high-rights account is an enabled account with the full-administrator right (administer on
 *   site, every instance), granted to it or to its directory groups;
 * - its standing credentials are a local password, and API tokens that are not revoked and never
 *   expire or stay valid more than 30 days (console sign-ins last 8 hours);
 * - pass: no high-rights account holds a standing credential (administrators sign in through the
 *   directory and hold short-lived tokens);
 * - warn: exactly one does (the break-glass administrator, such as `admin` from `site init`), and
 *   none of its long-lived tokens is older than 90 days;
 * - fail: more than one does, or a long-lived full-administrator token is older than 90 days.
 */
export const noStandingAdmins: SecurityCheck = {
  id: 'no-standing-admins',
  practice: 'Keep no standing high-rights accounts: full administrators hold no lasting password or token.',
  run: async ({ db, now }) => {
    const admins = (await enabledAdminAccounts(db, now)).filter((a) => a.fullAdministrator);
    const standing = admins.filter((a) => a.hasPassword || a.longLivedTokens.length > 0);
    const describe = standing.map((a) => {
      const what = [
        ...(a.hasPassword ? ['a local password'] : []),
        ...a.longLivedTokens.map(
          (t) =>
            `token "${t.name}" issued ${ageDays(t.createdAt, now)} days ago, ` +
            (t.expiresAt === null ? 'never expiring' : `valid until ${new Date(t.expiresAt).toISOString()}`),
        ),
      ];
      return `${a.name}${a.fromDirectory ? ' (directory user)' : ''}: ${what.join(', ')}`;
    });
    const stale = standing.flatMap((a) =>
      a.longLivedTokens.filter((t) => ageDays(t.createdAt, now) > staleTokenDays).map(() => a.name),
    );
    const evidence =
      `${admins.length} enabled full administrator${admins.length === 1 ? '' : 's'}; ` +
      (standing.length === 0
        ? 'none holds a local password or a token valid beyond ' + `${longLivedTokenDays} days.`
        : `with standing credentials: ${describe.join('; ')}.`);
    const fix =
      'Grant administrators their rights through directory groups (steward directory grant) so that ' +
      'they sign in with their directory password and hold 8-hour console tokens; give automation ' +
      'accounts narrower rights and tokens that expire; keep at most one break-glass full ' +
      'administrator, its password stored offline, and revoke its long-lived tokens ' +
      '(api_tokens.revoked_at; docs/audit.md, "no-standing-admins").';
    if (standing.length > 1 || stale.length > 0) {
      return fail(
        stale.length > 0
          ? `${evidence} Tokens older than ${staleTokenDays} days: ${[...new Set(stale)].join(', ')}.`
          : evidence,
        fix,
      );
    }
    if (standing.length === 1) return warn(evidence, fix);
    return pass(evidence);
  },
};
