import type { SiteDb } from '../database/site-db.js';
import { ReadOnlyObjectError } from './hierarchy-errors.js';

/**
 * Objects created at a parent site are read-only at its children (docs/hierarchy.md): they are
 * changed at the site that created them, whose change then flows down. ERR_READ_ONLY_OBJECT.
 */
export async function refuseReplicated(
  db: SiteDb,
  objectClass: 'package' | 'collection' | 'deployment',
  id: string,
): Promise<void> {
  const row = await db
    .selectFrom('replicated_objects')
    .select('origin_site')
    .where('object_class', '=', objectClass)
    .where('object_id', '=', id)
    .executeTakeFirst();
  if (row !== undefined) {
    throw new ReadOnlyObjectError(
      `${objectClass} ${id} was created at site ${row.origin_site}; change it there (it is read-only here)`,
    );
  }
}

/** As refuseReplicated, for a package named by name (a new version of a parent's package). */
export async function refuseReplicatedPackageName(db: SiteDb, name: string): Promise<void> {
  const row = await db.selectFrom('packages').select('id').where('name', '=', name).executeTakeFirst();
  if (row !== undefined) await refuseReplicated(db, 'package', row.id);
}
