import { sql, type Kysely } from 'kysely';

/**
 * Migration 007: the shared site-system credential of standard security mode (docs/audit.md,
 * "Security modes"; docs/scale-out.md). One row per credential issued (only the SHA-256 of its
 * secret is kept, as for one-time tokens); switching to advanced revokes it. Each site system
 * records what admitted it: its own one-time token or the shared credential. Row types:
 * src/site/site-systems/site-system-tables.ts and ../schema.ts.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create table site_system_shared_credentials (
      id text primary key,
      secret_hash text not null unique,
      created_by text not null,
      created_at timestamptz not null,
      expires_at timestamptz not null,
      revoked_at timestamptz)`,
    `alter table site_systems add column installed_with text
      check (installed_with in ('token','shared-credential'))`,
  ];
  for (const statement of statements) {
    await sql.raw(statement).execute(db);
  }
}
