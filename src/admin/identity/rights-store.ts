import { sql } from 'kysely';
import { z } from 'zod';
import { DatabaseError, InvalidRequestError, NotFoundError } from '../../site/site-errors.js';
import { FOREIGN_KEY_VIOLATION, inTransaction, sqlState, type SiteDb } from './database-access.js';
import {
  CLASS_INSTANCE,
  objectClassSchema,
  rightSchema,
  type ObjectClass,
  type Right,
  type RightGrant,
} from './rights.js';

const storedRights = z.array(rightSchema);
const maxInstanceIdLength = 256;

function checkGrantInput(instanceId: string, rights: readonly Right[]): void {
  if (instanceId.length === 0 || instanceId.length > maxInstanceIdLength) {
    throw new InvalidRequestError(
      `An instance id is 1 to ${maxInstanceIdLength} characters, or '*' for the class.`,
    );
  }
  const parsed = z.array(rightSchema).min(1).safeParse(rights);
  if (!parsed.success) throw new InvalidRequestError('Rights must be a non-empty list of known rights.');
}

/** Adds rights to an account on a class (`instanceId = '*'`) or one instance; existing rights stay. */
export async function grantRights(
  db: SiteDb,
  accountId: string,
  objectClass: ObjectClass,
  instanceId: string,
  rights: readonly Right[],
): Promise<void> {
  checkGrantInput(instanceId, rights);
  const added = JSON.stringify([...new Set(rights)].sort());
  try {
    await db
      .insertInto('admin_rights')
      .values({ account_id: accountId, object_class: objectClass, instance_id: instanceId, rights: added })
      .onConflict((conflict) =>
        conflict.columns(['account_id', 'object_class', 'instance_id']).doUpdateSet({
          // The union of the stored and the added rights, sorted, computed atomically by the database.
          rights: sql<string>`(select coalesce(jsonb_agg(distinct r order by r), '[]'::jsonb)
            from jsonb_array_elements_text(admin_rights.rights || excluded.rights) as r)`,
        }),
      )
      .execute();
  } catch (error) {
    if (sqlState(error) === FOREIGN_KEY_VIOLATION) {
      throw new NotFoundError(`No admin account with id ${accountId}.`, { cause: error });
    }
    throw error;
  }
}

/** Removes rights from an account on a class or instance; a grant left empty is deleted. */
export async function revokeRights(
  db: SiteDb,
  accountId: string,
  objectClass: ObjectClass,
  instanceId: string,
  rights: readonly Right[],
): Promise<void> {
  checkGrantInput(instanceId, rights);
  await inTransaction(db, async (trx) => {
    const row = await trx
      .selectFrom('admin_rights')
      .select('rights')
      .where('account_id', '=', accountId)
      .where('object_class', '=', objectClass)
      .where('instance_id', '=', instanceId)
      .forUpdate()
      .executeTakeFirst();
    if (row === undefined) return;
    const kept = parseStoredRights(row.rights).filter((right) => !rights.includes(right));
    if (kept.length === 0) {
      await trx
        .deleteFrom('admin_rights')
        .where('account_id', '=', accountId)
        .where('object_class', '=', objectClass)
        .where('instance_id', '=', instanceId)
        .execute();
    } else {
      await trx
        .updateTable('admin_rights')
        .set({ rights: JSON.stringify(kept) })
        .where('account_id', '=', accountId)
        .where('object_class', '=', objectClass)
        .where('instance_id', '=', instanceId)
        .execute();
    }
  });
}

/** Every grant of an account, class grants first within each class. */
export async function listRights(db: SiteDb, accountId: string): Promise<RightGrant[]> {
  const rows = await db
    .selectFrom('admin_rights')
    .select(['object_class', 'instance_id', 'rights'])
    .where('account_id', '=', accountId)
    .orderBy('object_class')
    .orderBy(sql`instance_id <> ${CLASS_INSTANCE}`)
    .orderBy('instance_id')
    .execute();
  return rows.map((row) => ({
    objectClass: parseStoredClass(row.object_class),
    instanceId: row.instance_id,
    rights: parseStoredRights(row.rights),
  }));
}

function parseStoredClass(value: string): ObjectClass {
  const parsed = objectClassSchema.safeParse(value);
  if (!parsed.success) throw new DatabaseError('An admin_rights row names an unknown object class.');
  return parsed.data;
}

function parseStoredRights(value: unknown): Right[] {
  const parsed = storedRights.safeParse(value);
  if (!parsed.success) throw new DatabaseError('An admin_rights row holds an unknown right.');
  return parsed.data;
}
