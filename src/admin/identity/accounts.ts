import { randomId, verifyPassword } from '../../trust/index.js';
import { ConflictError, InvalidRequestError, NotFoundError } from '../../site/site-errors.js';
import { UnauthenticatedError } from './admin-errors.js';
import { UNIQUE_VIOLATION, inTransaction, sqlState, type SiteDb } from './database-access.js';
import { authenticateByDirectory, type DirectorySignIn } from './directory-sign-in.js';
import { hashNewPassword, verifyAgainstDummy } from './passwords.js';
import { principalFor, type AdminPrincipal } from './principal.js';
import { fullAdministrator } from './rights.js';
import { grantRights } from './rights-store.js';

/** A local administrator account (DESIGN.md section 7); the password hash never leaves this file. */
export interface AdminAccount {
  readonly id: string;
  readonly name: string;
  readonly directoryDn: string | null;
  readonly disabled: boolean;
  readonly hasPassword: boolean;
  readonly createdAt: Date;
}

export interface NewAccount {
  readonly name: string;
  readonly password?: string;
  readonly directoryDn?: string;
  /** Grants the full-administrator right (`administer` on class `site`, instance `*`). */
  readonly administrator?: boolean;
}

/** One message for every password failure, so it does not tell which names exist. */
export const badCredentials = 'The account name or password is not correct.';

/** 1 to 128 characters, no colon (Basic authentication splits on it), no control characters, and
 * no surrounding spaces. */
const accountNamePattern = /^(?![\s])[^:\p{Cc}]{1,128}(?<![\s])$/u;

export function checkAccountName(name: string): void {
  if (!accountNamePattern.test(name)) {
    throw new InvalidRequestError(
      'An account name is 1 to 128 characters without colons, control characters or surrounding spaces.',
    );
  }
}

export async function createAccount(
  db: SiteDb,
  account: NewAccount,
  now = new Date(),
): Promise<AdminAccount> {
  checkAccountName(account.name);
  const passwordHash = account.password === undefined ? null : await hashNewPassword(account.password);
  const row = {
    id: randomId(),
    name: account.name,
    password_hash: passwordHash,
    directory_dn: account.directoryDn ?? null,
    disabled: false,
    created_at: now,
  };
  try {
    await inTransaction(db, async (trx) => {
      await trx.insertInto('admin_accounts').values(row).execute();
      if (account.administrator === true) {
        const { objectClass, instanceId, rights } = fullAdministrator;
        await grantRights(trx, row.id, objectClass, instanceId, rights);
      }
    });
  } catch (error) {
    if (sqlState(error) === UNIQUE_VIOLATION) {
      throw new ConflictError(`An admin account named "${account.name}" already exists.`, { cause: error });
    }
    throw error;
  }
  return toAccount(row);
}

export async function findAccountByName(db: SiteDb, name: string): Promise<AdminAccount | undefined> {
  const row = await db.selectFrom('admin_accounts').selectAll().where('name', '=', name).executeTakeFirst();
  return row === undefined ? undefined : toAccount(row);
}

export async function getAccount(db: SiteDb, accountId: string): Promise<AdminAccount> {
  const row = await db
    .selectFrom('admin_accounts')
    .selectAll()
    .where('id', '=', accountId)
    .executeTakeFirst();
  if (row === undefined) throw new NotFoundError(`No admin account with id ${accountId}.`);
  return toAccount(row);
}

export async function setPassword(db: SiteDb, accountId: string, password: string): Promise<void> {
  const passwordHash = await hashNewPassword(password);
  const result = await db
    .updateTable('admin_accounts')
    .set({ password_hash: passwordHash })
    .where('id', '=', accountId)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new NotFoundError(`No admin account with id ${accountId}.`);
}

/** Disables an account: its password and its API tokens are refused from now on. */
export async function disableAccount(db: SiteDb, accountId: string): Promise<void> {
  const result = await db
    .updateTable('admin_accounts')
    .set({ disabled: true })
    .where('id', '=', accountId)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new NotFoundError(`No admin account with id ${accountId}.`);
}

/**
 * Checks a name and password (with `directory`, by directory bind where directory-sign-in.ts
 * says). Unknown names, accounts without a password and disabled accounts all
 * cost one scrypt verification and fail with the same UnauthenticatedError message.
 */
export async function authenticatePassword(
  db: SiteDb,
  name: string,
  password: string,
  options: { readonly directory?: DirectorySignIn } = {},
): Promise<AdminPrincipal> {
  const row = await db
    .selectFrom('admin_accounts')
    .select(['id', 'name', 'password_hash', 'disabled', 'directory_dn'])
    .where('name', '=', name)
    .executeTakeFirst();
  // With a directory configured, accounts linked to a directory DN and names unknown here bind.
  if (options.directory !== undefined && (row === undefined || row.directory_dn !== null)) {
    return authenticateByDirectory(db, options.directory, name, password, row);
  }
  const matches =
    row?.password_hash == null
      ? await verifyAgainstDummy(password)
      : await verifyPassword(password, row.password_hash);
  if (row === undefined || !matches || row.disabled) throw new UnauthenticatedError(badCredentials);
  return principalFor(db, { accountId: row.id, name: row.name, via: 'password' });
}

function toAccount(row: {
  id: string;
  name: string;
  password_hash: string | null;
  directory_dn: string | null;
  disabled: boolean;
  created_at: Date;
}): AdminAccount {
  return {
    id: row.id,
    name: row.name,
    directoryDn: row.directory_dn,
    disabled: row.disabled,
    hasPassword: row.password_hash !== null,
    createdAt: row.created_at,
  };
}
