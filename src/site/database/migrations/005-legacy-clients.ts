import { sql, type Kysely } from 'kysely';

/**
 * Migration 005: legacy clients (docs/legacy-client.md). Every client gets a `kind` (`agent` or
 * `legacy`) so that the audit can count legacy clients; a legacy client's own row holds only the
 * SHA-256 of its secret, how it verifies what it receives (`signature` with openssl, or `none`)
 * and the sequence of the last list signed for it. Legacy client tokens, like enrolment tokens,
 * are stored as their SHA-256 only. Row types: src/roles/legacy-point/legacy-tables.ts.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `alter table clients add column kind text not null default 'agent' check (kind in ('agent','legacy'))`,
    `create index clients_kind on clients (kind) where kind <> 'agent'`,
    `create table legacy_clients (
      client_id text primary key references clients(id) on delete cascade,
      secret_hash text not null unique,
      verification text not null check (verification in ('signature','none')),
      list_sequence bigint not null default 0,
      last_list_at timestamptz,
      created_at timestamptz not null)`,
    `create table legacy_client_tokens (
      id text primary key,
      token_hash text not null unique,
      description text not null default '',
      uses_left integer not null,
      created_at timestamptz not null,
      expires_at timestamptz not null)`,
  ];
  for (const statement of statements) {
    await sql.raw(statement).execute(db);
  }
}
