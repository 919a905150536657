import { sql, type Kysely } from 'kysely';

/**
 * Migration 002: transport security material (docs/tls.md). The hierarchy TLS CA certificates with
 * the root's endorsement of each, and every certificate the CA issued (server certificates of site
 * systems, client certificates of agents) with its serial, subject, validity and revocation. Private
 * keys are never stored here: they stay in the data folder's encrypted key files, or with the agent.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create table tls_authorities (
      version integer primary key,
      site_code text not null,
      certificate text not null,
      certificate_sha256 text not null unique,
      endorsement text not null,
      not_after timestamptz not null,
      created_at timestamptz not null default now())`,
    `create table tls_certificates (
      serial text primary key,
      ca_version integer not null references tls_authorities(version),
      kind text not null check (kind in ('server','client')),
      subject text not null,
      client_id text,
      names jsonb not null default '[]',
      public_key_sha256 text not null,
      certificate text not null,
      not_before timestamptz not null,
      not_after timestamptz not null,
      issued_at timestamptz not null,
      revoked_at timestamptz)`,
    `create index tls_certificates_subject on tls_certificates (kind, subject, issued_at)`,
    `create index tls_certificates_client on tls_certificates (client_id) where client_id is not null`,
    `create index tls_certificates_revoked on tls_certificates (revoked_at) where revoked_at is not null`,
  ];
  for (const statement of statements) {
    await sql.raw(statement).execute(db);
  }
}
