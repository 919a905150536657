import { sql, type Kysely } from 'kysely';

/**
 * Migration 006: site systems on their own hosts (docs/scale-out.md). One-time site system tokens
 * (stored as the SHA-256 of their secret only); the policy change feed that management points on
 * other hosts poll to learn which clients' policy to rebuild; each distribution point's content
 * state; and, per site system, the detail of its last health report and the TLS certificate issued
 * to it. Row types: src/site/site-systems/site-system-tables.ts.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create table site_system_tokens (
      id text primary key,
      secret_hash text not null unique,
      role text not null check (role in ('management-point','distribution-point')),
      description text not null default '',
      created_by text not null,
      created_at timestamptz not null,
      expires_at timestamptz not null,
      used_at timestamptz,
      used_by text)`,
    `create table policy_changes (
      seq bigserial primary key,
      client_ids jsonb,
      created_at timestamptz not null default now())`,
    `create index policy_changes_created on policy_changes (created_at)`,
    `create table site_system_content (
      system_id text not null references site_systems(id) on delete cascade,
      package_id text not null,
      version text not null,
      state text not null check (state in ('present','pending','failed')),
      detail text not null default '',
      updated_at timestamptz not null,
      primary key (system_id, package_id, version))`,
    `alter table site_systems add column detail text not null default ''`,
    `alter table site_systems add column public_key text`,
    `alter table site_systems add column tls_certificate text`,
    `alter table site_systems add column status_at timestamptz`,
  ];
  for (const statement of statements) {
    await sql.raw(statement).execute(db);
  }
}
