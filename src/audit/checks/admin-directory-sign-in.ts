import { fail, pass, warn, type SecurityCheck } from '../security-check.js';
import { enabledAdminAccounts } from './admin-accounts.js';

/**
 * Administrators sign in through the directory (docs/directory.md, section 9): their passwords,
 * groups and departures are managed in one place, and rights follow group membership. Local
 * accounts with passwords that remain are listed.
 */
export const adminDirectorySignIn: SecurityCheck = {
  id: 'admin-directory-sign-in',
  practice: 'Administrators sign in through the directory, not with local accounts.',
  run: async ({ db, config, now }) => {
    const local = (await enabledAdminAccounts(db, now)).filter((a) => !a.fromDirectory && a.hasPassword);
    const localText =
      local.length === 0
        ? 'no enabled local account has a password'
        : `enabled local accounts with a password: ${local.map((a) => a.name).join(', ')}`;
    if (config.directory === undefined) {
      return warn(
        `No directory is configured: every administrator is a local account (${localText}).`,
        'Configure the directory (steward directory configure) and grant rights to directory groups ' +
          '(steward directory grant); then disable the local accounts but one break-glass account.',
      );
    }
    const grants = (
      await db
        .selectFrom('directory_group_rights')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n;
    const evidence = `Directory sign-in is configured (${config.directory.url}) with ${grants} group grant${grants === 1 ? '' : 's'}; ${localText}.`;
    if (grants === 0) {
      return fail(
        evidence,
        'No directory group holds any right, so no administrator can sign in through the directory: ' +
          'grant rights to directory groups (steward directory grant --group DN --class CLASS --rights LIST).',
      );
    }
    if (local.length > 0) {
      return warn(
        evidence,
        'Move these administrators to directory groups and disable their local accounts, keeping at ' +
          'most one break-glass account.',
      );
    }
    return pass(evidence);
  },
};
