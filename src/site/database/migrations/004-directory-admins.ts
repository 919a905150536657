import { sql, type Kysely } from 'kysely';

/**
 * Migration 004: administrators from the directory (docs/directory.md, "Administrators from the
 * directory"). Steward rights granted to directory groups, by normalised group DN; and the groups
 * each directory account belonged to at its last directory sign-in, which the API tokens it holds
 * (console sessions) are judged by until it signs in again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create table directory_group_rights (
      group_dn text not null,
      object_class text not null,
      instance_id text not null,
      rights jsonb not null,
      primary key (group_dn, object_class, instance_id))`,
    `create table admin_directory_groups (
      account_id text not null references admin_accounts(id) on delete cascade,
      group_dn text not null,
      seen_at timestamptz not null,
      primary key (account_id, group_dn))`,
    `create index admin_accounts_directory_dn on admin_accounts (lower(directory_dn))`,
  ];
  for (const statement of statements) {
    await sql.raw(statement).execute(db);
  }
}
