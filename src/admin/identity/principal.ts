import type { SiteDb } from './database-access.js';
import type { RightGrant } from './rights.js';
import { directoryGrantsOf } from './directory-group-rights.js';
import { listRights } from './rights-store.js';

/** Who is making a request, how they proved it, and their rights, loaded afresh for each request. */
export interface AdminPrincipal {
  readonly accountId: string;
  readonly name: string;
  readonly via: 'password' | 'token' | 'directory';
  readonly grants: readonly RightGrant[];
}

/**
 * Builds the principal of an authenticated account (also used by directory binds): its own grants
 * and those of the directory groups it belonged to at its last directory sign-in.
 */
export async function principalFor(db: SiteDb, who: Omit<AdminPrincipal, 'grants'>): Promise<AdminPrincipal> {
  const grants = [...(await listRights(db, who.accountId)), ...(await directoryGrantsOf(db, who.accountId))];
  return { ...who, grants };
}
