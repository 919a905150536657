import type { ColumnType } from 'kysely';

/** The tables of migration 004 (administrators from the directory); part of SiteDatabase. */
export interface DirectoryGroupRightTable {
  /** Normalised (src/directory/lookup/dn.ts normalizeDn). */
  group_dn: string;
  object_class: 'collection' | 'package' | 'deployment' | 'client' | 'site';
  instance_id: string;
  rights: ColumnType<string[], string, string>;
}

export interface AdminDirectoryGroupTable {
  account_id: string;
  group_dn: string;
  seen_at: ColumnType<Date, Date | string, Date | string>;
}

export interface DirectoryAdminTables {
  directory_group_rights: DirectoryGroupRightTable;
  admin_directory_groups: AdminDirectoryGroupTable;
}
