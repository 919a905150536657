/**
 * Steward rights granted to directory groups (DESIGN.md section 7, docs/directory.md): the same
 * grants as an account's (a right on a class, or on one instance), held by a group DN. A directory
 * account holds the grants of the groups it belonged to at its last directory sign-in.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import { normalizeDn, parseDn } from '../../directory/lookup/dn.js';
import { DatabaseError, InvalidRequestError } from '../../site/site-errors.js';
import { inTransaction, type SiteDb } from './database-access.js';
import {
  CLASS_INSTANCE,
  objectClassSchema,
  rightSchema,
  type ObjectClass,
  type Right,
  type RightGrant,
} from './rights.js';

export interface GroupGrant extends RightGrant {
  /** The group's DN in normal form (attribute types and values lower-case). */
  readonly groupDn: string;
}

const maxGroupDnLength = 2000;

/** The normal form of a group DN; InvalidRequestError when it is not a DN. */
export function groupDnOf(dn: string): string {
  const rdns = dn.length > maxGroupDnLength ? undefined : parseDn(dn);
  if (rdns === undefined || rdns.length === 0) {
    throw new InvalidRequestError(
      `"${dn.slice(0, 100)}" is not a distinguished name (cn=Admins,ou=groups,...).`,
    );
  }
  return normalizeDn(dn);
}

function checkGrant(instanceId: string, rights: readonly Right[]): void {
  if (instanceId.length === 0 || instanceId.length > 256) {
    throw new InvalidRequestError("An instance id is 1 to 256 characters, or '*' for the class.");
  }
  if (!z.array(rightSchema).min(1).safeParse(rights).success) {
    throw new InvalidRequestError('Rights must be a non-empty list of known rights.');
  }
}

const storedRights = z.array(rightSchema);

function parseRow(row: { group_dn: string; object_class: string; instance_id: string; rights: unknown }) {
  const objectClass = objectClassSchema.safeParse(row.object_class);
  const rights = storedRights.safeParse(row.rights);
  if (!objectClass.success || !rights.success) {
    throw new DatabaseError('A directory_group_rights row holds an unknown class or right.');
  }
  return {
    groupDn: row.group_dn,
    objectClass: objectClass.data,
    instanceId: row.instance_id,
    rights: rights.data,
  };
}

/** Adds rights to a group on a class (`'*'`) or one instance; the rights it had stay. */
export async function grantGroupRights(
  db: SiteDb,
  groupDn: string,
  objectClass: ObjectClass,
  instanceId: string,
  rights: readonly Right[],
): Promise<GroupGrant> {
  checkGrant(instanceId, rights);
  const group = groupDnOf(groupDn);
  await db
    .insertInto('directory_group_rights')
    .values({
      group_dn: group,
      object_class: objectClass,
      instance_id: instanceId,
      rights: JSON.stringify([...new Set(rights)].sort()),
    })
    .onConflict((conflict) =>
      conflict.columns(['group_dn', 'object_class', 'instance_id']).doUpdateSet({
        rights: sql<string>`(select coalesce(jsonb_agg(distinct r order by r), '[]'::jsonb)
          from jsonb_array_elements_text(directory_group_rights.rights || excluded.rights) as r)`,
      }),
    )
    .execute();
  const row = await db
    .selectFrom('directory_group_rights')
    .selectAll()
    .where('group_dn', '=', group)
    .where('object_class', '=', objectClass)
    .where('instance_id', '=', instanceId)
    .executeTakeFirstOrThrow();
  return parseRow(row);
}

/** Removes rights from a group; a grant left empty is deleted. */
export async function revokeGroupRights(
  db: SiteDb,
  groupDn: string,
  objectClass: ObjectClass,
  instanceId: string,
  rights: readonly Right[],
): Promise<void> {
  checkGrant(instanceId, rights);
  const group = groupDnOf(groupDn);
  await inTransaction(db, async (trx) => {
    const row = await trx
      .selectFrom('directory_group_rights')
      .selectAll()
      .where('group_dn', '=', group)
      .where('object_class', '=', objectClass)
      .where('instance_id', '=', instanceId)
      .forUpdate()
      .executeTakeFirst();
    if (row === undefined) return;
    const kept = parseRow(row).rights.filter((right) => !rights.includes(right));
    if (kept.length === 0) {
      await trx
        .deleteFrom('directory_group_rights')
        .where('group_dn', '=', group)
        .where('object_class', '=', objectClass)
        .where('instance_id', '=', instanceId)
        .execute();
    } else {
      await trx
        .updateTable('directory_group_rights')
        .set({ rights: JSON.stringify(kept) })
        .where('group_dn', '=', group)
        .where('object_class', '=', objectClass)
        .where('instance_id', '=', instanceId)
        .execute();
    }
  });
}

/** Every group grant, by group, class grants first. */
export async function listGroupRights(db: SiteDb): Promise<GroupGrant[]> {
  const rows = await db
    .selectFrom('directory_group_rights')
    .selectAll()
    .orderBy('group_dn')
    .orderBy('object_class')
    .orderBy(sql`instance_id <> ${CLASS_INSTANCE}`)
    .orderBy('instance_id')
    .execute();
  return rows.map(parseRow);
}

/** The grants of these groups (normalised DNs). */
export async function grantsOfGroups(db: SiteDb, groupDns: readonly string[]): Promise<RightGrant[]> {
  if (groupDns.length === 0) return [];
  const rows = await db
    .selectFrom('directory_group_rights')
    .selectAll()
    .where('group_dn', 'in', [...new Set(groupDns)])
    .execute();
  return rows.map(withoutGroup);
}

function withoutGroup(row: Parameters<typeof parseRow>[0]): RightGrant {
  const { objectClass, instanceId, rights } = parseRow(row);
  return { objectClass, instanceId, rights };
}

/** The grants an account holds through the groups remembered at its last directory sign-in. */
export async function directoryGrantsOf(db: SiteDb, accountId: string): Promise<RightGrant[]> {
  const rows = await db
    .selectFrom('admin_directory_groups as g')
    .innerJoin('directory_group_rights as r', 'r.group_dn', 'g.group_dn')
    .select(['r.group_dn', 'r.object_class', 'r.instance_id', 'r.rights'])
    .where('g.account_id', '=', accountId)
    .execute();
  return rows.map(withoutGroup);
}

/** Replaces the groups remembered for an account (at a directory sign-in). */
export async function rememberDirectoryGroups(
  db: SiteDb,
  accountId: string,
  groupDns: readonly string[],
  now: Date,
): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx.deleteFrom('admin_directory_groups').where('account_id', '=', accountId).execute();
    const groups = [...new Set(groupDns)];
    if (groups.length === 0) return;
    await trx
      .insertInto('admin_directory_groups')
      .values(groups.map((group) => ({ account_id: accountId, group_dn: group, seen_at: now })))
      .execute();
  });
}
