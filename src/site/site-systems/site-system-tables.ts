import type { ColumnType, Generated } from 'kysely';

/**
 * Tables of site systems on their own hosts (migration 006, docs/scale-out.md). The `site_systems`
 * table itself is declared in ../database/schema.ts.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

/** A one-time site system token: only the SHA-256 of its secret is kept (the key of its proofs). */
export interface SiteSystemTokenTable {
  id: string;
  secret_hash: string;
  role: 'management-point' | 'distribution-point';
  description: string;
  created_by: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  /** The site system that used it (its id). */
  used_by: string | null;
}

/**
 * Standard security mode's shared site-system credential (migration 007): reusable by any number
 * of site systems until revoked (switching to advanced revokes it); only its secret's hash is kept.
 */
export interface SiteSystemSharedCredentialTable {
  id: string;
  secret_hash: string;
  created_by: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}

/** The policy change feed: clients whose signed lists must be rebuilt (null: every client). */
export interface PolicyChangeTable {
  seq: Generated<number | string>; // bigserial: a string on PostgreSQL
  client_ids: Json<string[] | null> | null;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** What a distribution point reported about one package version. */
export interface SiteSystemContentTable {
  system_id: string;
  package_id: string;
  version: string;
  state: 'present' | 'pending' | 'failed';
  detail: string;
  updated_at: Timestamp;
}

export interface SiteSystemTables {
  site_system_tokens: SiteSystemTokenTable;
  site_system_shared_credentials: SiteSystemSharedCredentialTable;
  policy_changes: PolicyChangeTable;
  site_system_content: SiteSystemContentTable;
}
