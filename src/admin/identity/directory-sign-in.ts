/**
 * Admin sign-in by directory bind (DESIGN.md section 7, docs/directory.md "Administrators from the
 * directory"). For an account linked to a directory DN, or a name this site does not know when a
 * directory is configured: the site's own directory account finds the user by name, the user binds
 * with the password given, and the groups it belongs to (read in its own session) are mapped to
 * Steward rights through `directory_group_rights`. A name unknown here becomes an account only when
 * its groups grant at least one right. The password is never stored or logged.
 */
import {
  DirectoryBindError,
  directoryConfigOf,
  directoryFailure,
  escapeFilterValue,
  normalizeDn,
  withDirectorySession,
  type DirectoryConfig,
  type DirectorySession,
  type DirectorySettings,
} from '../../directory/lookup/index.js';
import { randomId } from '../../trust/index.js';
import { appendAudit } from '../audit-log/index.js';
import { UnauthenticatedError } from './admin-errors.js';
import { UNIQUE_VIOLATION, sqlState, type SiteDb } from './database-access.js';
import { grantsOfGroups, rememberDirectoryGroups } from './directory-group-rights.js';
import { verifyAgainstDummy } from './passwords.js';
import { principalFor, type AdminPrincipal } from './principal.js';

/** What directory sign-in needs: the site's directory settings (its account finds users by name). */
export interface DirectorySignIn {
  readonly settings: DirectorySettings;
}

/** The account row authenticatePassword found by name, if any. */
export interface AccountRow {
  id: string;
  name: string;
  disabled: boolean;
  directory_dn: string | null;
}

const badCredentials = 'The account name or password is not correct.';
const maxGroups = 1000;

/** A user entry by login name: uid on OpenLDAP; sAMAccountName or userPrincipalName on AD. */
export function userFilter(name: string, flavor: DirectorySession['flavor']): string {
  const value = escapeFilterValue(name);
  return flavor === 'ad'
    ? `(&(objectCategory=person)(objectClass=user)(|(sAMAccountName=${value})(userPrincipalName=${value})))`
    : `(&(objectClass=person)(uid=${value}))`;
}

/** Groups with the user as a member: groupOfNames/groupOfUniqueNames, or AD groups (nested too). */
export function groupFilter(userDn: string, flavor: DirectorySession['flavor']): string {
  const value = escapeFilterValue(userDn);
  return flavor === 'ad'
    ? `(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=${value}))`
    : `(|(&(objectClass=groupOfNames)(member=${value}))(&(objectClass=groupOfUniqueNames)(uniqueMember=${value})))`;
}

async function findUser(settings: DirectorySettings, name: string): Promise<string | undefined> {
  if (name.length > 256) return undefined;
  return withDirectorySession(directoryConfigOf(settings), async (session) => {
    try {
      const { searchEntries } = await session.client.search(session.baseDn, {
        scope: 'sub',
        filter: userFilter(name, session.flavor),
        attributes: ['1.1'],
        sizeLimit: 2,
      });
      return searchEntries.length === 1 ? searchEntries[0]?.dn : undefined;
    } catch (error) {
      throw directoryFailure(error, `search for the user ${name}`, session.url);
    }
  });
}

/** Binds as the user; its groups (normalised DNs), or undefined when the directory refuses the bind. */
async function bindAndReadGroups(
  settings: DirectorySettings,
  userDn: string,
  password: string,
): Promise<string[] | undefined> {
  // An empty password would be an unauthenticated bind (RFC 4513 5.1.2): anonymous, not the user.
  if (password === '') return undefined;
  const { bindDn: _site, passwordFile: _file, ...common } = directoryConfigOf(settings);
  const asUser: DirectoryConfig = { ...common, bindDn: userDn, password };
  try {
    return await withDirectorySession(asUser, async (session) => {
      try {
        const { searchEntries } = await session.client.search(session.baseDn, {
          scope: 'sub',
          filter: groupFilter(userDn, session.flavor),
          attributes: ['1.1'],
          sizeLimit: maxGroups,
        });
        return searchEntries.map((entry) => normalizeDn(entry.dn));
      } catch (error) {
        throw directoryFailure(error, `read the groups of ${userDn}`, session.url);
      }
    });
  } catch (error) {
    if (error instanceof DirectoryBindError) return undefined;
    throw error;
  }
}

async function accountOfDn(db: SiteDb, userDn: string): Promise<AccountRow | undefined> {
  return db
    .selectFrom('admin_accounts')
    .select(['id', 'name', 'disabled', 'directory_dn'])
    .where((eb) => eb(eb.fn('lower', ['directory_dn']), '=', userDn.toLowerCase()))
    .executeTakeFirst();
}

async function createDirectoryAccount(
  db: SiteDb,
  name: string,
  userDn: string,
  now: Date,
): Promise<AccountRow> {
  const row = {
    id: randomId(),
    name,
    password_hash: null,
    directory_dn: userDn,
    disabled: false,
    created_at: now,
  };
  try {
    await db.insertInto('admin_accounts').values(row).execute();
  } catch (error) {
    // Signed in twice at once: the other sign-in created it.
    if (sqlState(error) === UNIQUE_VIOLATION) {
      const existing = await accountOfDn(db, userDn);
      if (existing !== undefined) return existing;
      throw new UnauthenticatedError(badCredentials);
    }
    throw error;
  }
  await appendAudit(
    db,
    {
      actor: 'directory sign-in',
      action: 'account.create',
      objectClass: 'site',
      objectId: row.id,
      details: { name, directoryDn: userDn },
    },
    now,
  );
  return row;
}

/** Directory sign-in for `name`; `row` is the account of that name, when there is one. */
export async function authenticateByDirectory(
  db: SiteDb,
  signIn: DirectorySignIn,
  name: string,
  password: string,
  row: AccountRow | undefined,
  now = new Date(),
): Promise<AdminPrincipal> {
  let groups: string[] | undefined;
  let userDn: string | undefined;
  try {
    userDn = row?.directory_dn ?? (await findUser(signIn.settings, name));
    if (userDn === undefined) await verifyAgainstDummy(password);
    else groups = await bindAndReadGroups(signIn.settings, userDn, password);
  } catch (error) {
    // A directory that cannot be reached answers like a wrong password: the answer must not tell
    // local account names from others (the site's log shows the directory's state).
    throw new UnauthenticatedError(badCredentials, { cause: error });
  }
  if (userDn === undefined || groups === undefined) throw new UnauthenticatedError(badCredentials);
  let account = row ?? (await accountOfDn(db, userDn));
  if (account === undefined) {
    // A directory user is an administrator here only when a group of it is granted something.
    if ((await grantsOfGroups(db, groups)).length === 0) throw new UnauthenticatedError(badCredentials);
    account = await createDirectoryAccount(db, name, userDn, now);
  }
  if (account.disabled) throw new UnauthenticatedError(badCredentials);
  await rememberDirectoryGroups(db, account.id, groups, now);
  return principalFor(db, { accountId: account.id, name: account.name, via: 'directory' });
}
