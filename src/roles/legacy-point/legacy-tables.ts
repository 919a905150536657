import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** A legacy client (migration 005): its `clients` row has `kind = 'legacy'`. */
export interface LegacyClientTable {
  client_id: string;
  /** SHA-256 of the secret the client presents as a bearer credential; the secret is never stored. */
  secret_hash: string;
  /** `signature`: it checks the site's Ed25519 signature with openssl; `none`: it cannot (audited). */
  verification: 'signature' | 'none';
  list_sequence: Generated<number>;
  last_list_at: Timestamp | null;
  created_at: Timestamp;
}

/** A legacy client token (only its SHA-256), like an enrolment token. */
export interface LegacyClientTokenTable {
  id: string;
  token_hash: string;
  description: string;
  uses_left: number;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface LegacyClientTables {
  legacy_clients: LegacyClientTable;
  legacy_client_tokens: LegacyClientTokenTable;
}
