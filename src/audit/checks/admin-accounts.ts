import { isFullAdministrator, principalFor } from '../../admin/identity/index.js';
import type { SiteDb } from '../../site/database/site-db.js';

const day = 24 * 3600 * 1000;

/** A token that never expires or is valid more than this long from now is long-lived. */
export const longLivedTokenDays = 30;
/** A long-lived full-administrator token older than this fails the audit. */
export const staleTokenDays = 90;

export interface AdminAccountFacts {
  name: string;
  fromDirectory: boolean;
  hasPassword: boolean;
  fullAdministrator: boolean;
  /** Unrevoked tokens that never expire or expire more than `longLivedTokenDays` from now. */
  longLivedTokens: { name: string; createdAt: Date; expiresAt: Date | null }[];
}

/**
 * The enabled administrator accounts with what they can sign in with (never a secret: names,
 * whether a password is set, token names and dates) and whether they are full administrators,
 * their own grants and their directory groups' (as of their last directory sign-in) counted.
 */
export async function enabledAdminAccounts(db: SiteDb, now: Date): Promise<AdminAccountFacts[]> {
  const accounts = await db
    .selectFrom('admin_accounts')
    .select(['id', 'name', 'password_hash', 'directory_dn'])
    .where('disabled', '=', false)
    .orderBy('name')
    .execute();
  const horizon = new Date(now.getTime() + longLivedTokenDays * day);
  const facts: AdminAccountFacts[] = [];
  for (const account of accounts) {
    const principal = await principalFor(db, { accountId: account.id, name: account.name, via: 'token' });
    const tokens = await db
      .selectFrom('api_tokens')
      .select(['name', 'created_at', 'expires_at'])
      .where('account_id', '=', account.id)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', horizon)]))
      .orderBy('created_at')
      .execute();
    facts.push({
      name: account.name,
      fromDirectory: account.directory_dn !== null,
      hasPassword: account.password_hash !== null,
      fullAdministrator: isFullAdministrator(principal.grants),
      longLivedTokens: tokens.map((t) => ({
        name: t.name,
        createdAt: t.created_at,
        expiresAt: t.expires_at,
      })),
    });
  }
  return facts;
}

export function ageDays(from: Date, now: Date): number {
  return Math.floor((now.getTime() - new Date(from).getTime()) / day);
}
