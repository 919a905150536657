import type { ColumnType, Generated } from 'kysely';
import type { HierarchyTables } from '../hierarchy/hierarchy-schema.js';
import type { DirectoryAdminTables } from '../directory/directory-tables.js';
import type { LegacyClientTables } from '../../roles/legacy-point/legacy-tables.js';
import type { SiteSystemTables } from '../site-systems/site-system-tables.js';

/**
 * The site database (DESIGN.md section 6): the single source of truth for one site. The tables are
 * created by the numbered migrations in ./migrations and are the same on PGlite and PostgreSQL.
 *
 * Conventions: ids are text (key ids, random hex ids); times are `timestamptz` read back as `Date`;
 * counters that can pass 2^31 are `bigint` and read back as numbers (see ./open.ts).
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface SiteTable {
  code: string;
  name: string;
  site_type: 'central' | 'primary' | 'secondary';
  parent_code: string | null;
  site_key_id: string;
  certificate: string | null;
  is_local: boolean;
  updated_at: Timestamp;
}

export interface SiteSystemTable {
  id: string;
  site_code: string;
  role: 'management-point' | 'distribution-point' | 'server-locator-point';
  name: string;
  urls: Json<string[]>;
  key_id: string | null;
  certificate: string | null;
  embedded: boolean;
  health: 'ok' | 'degraded' | 'down' | 'unknown';
  last_seen_at: Timestamp | null;
  created_at: Generated<Timestamp>;
  /** Migration 006 (docs/scale-out.md): the system's public key (for its signed requests), the last
   * health report's detail and time, the TLS server certificate issued to it. */
  public_key: string | null;
  detail: Generated<string>;
  tls_certificate: string | null;
  status_at: Timestamp | null;
  /** Migration 007 (docs/audit.md, "Security modes"): what admitted the system at its last
   * install, its own one-time token or standard mode's shared credential (null: embedded, or
   * installed before the column existed, with a one-time token). */
  installed_with: ColumnType<
    'token' | 'shared-credential' | null,
    'token' | 'shared-credential' | null | undefined,
    'token' | 'shared-credential' | null
  >;
}

export interface RootDocumentTable {
  version: number;
  envelope: string;
  hash: string;
  expires_at: Timestamp;
  created_at: Generated<Timestamp>;
}

export interface CertificateTable {
  hash: string;
  kind: 'site-certificate' | 'mp-certificate';
  subject: string;
  site_code: string;
  key_id: string;
  serial: number;
  envelope: string;
  issued_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}

/** A hierarchy TLS CA certificate and the root's `tls-ca` endorsement of it (docs/tls.md). */
export interface TlsAuthorityTable {
  version: number;
  site_code: string;
  certificate: string;
  certificate_sha256: string;
  endorsement: string;
  not_after: Timestamp;
  created_at: Generated<Timestamp>;
}

/** A certificate the hierarchy CA issued: a site system's server certificate or an agent's. */
export interface TlsCertificateTable {
  /** Lowercase hex, no leading zeros. */
  serial: string;
  ca_version: number;
  kind: 'server' | 'client';
  subject: string;
  client_id: string | null;
  /** DNS names and IP addresses of a server certificate. */
  names: Json<string[]>;
  public_key_sha256: string;
  certificate: string;
  not_before: Timestamp;
  not_after: Timestamp;
  issued_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface ClientTable {
  id: string;
  public_key: string;
  site_code: string;
  hostname: string;
  state: 'pending' | 'approved' | 'revoked';
  mode: 'secure' | 'directory-only' | 'trust-on-first-use';
  root_source: 'pinned' | 'directory' | 'first-use';
  approved_by: string | null;
  registered_at: Timestamp;
  approved_at: Timestamp | null;
  revoked_at: Timestamp | null;
  last_seen_at: Timestamp | null;
  last_report_sequence: Generated<number>;
  /** Set when an inventory delta did not apply: the agent is asked for a full inventory. */
  inventory_resync: Generated<boolean>;
  /** `legacy`: a legacy client (migration 005, docs/legacy-client.md); counted by the audit. */
  kind: Generated<'agent' | 'legacy'>;
}

export interface DiscoveryTable {
  client_id: string;
  hostname: string;
  domain: string | null;
  addresses: Json<string[]>;
  agent_version: string | null;
  updated_at: Timestamp;
}

export interface InventoryFactTable {
  client_id: string;
  name: string;
  value: string;
  num: number | null;
}

export interface InventorySoftwareTable {
  client_id: string;
  name: string;
  version: string;
  arch: string;
  source: string;
}

export interface InventoryHistoryTable {
  id: Generated<number>;
  client_id: string;
  received_at: Timestamp;
  full: boolean;
  delta: Json<unknown>;
}

export interface CollectionTable {
  id: string;
  name: string;
  description: string;
  rule: string | null;
  member_count: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  evaluated_at: Timestamp | null;
}

export interface CollectionMemberTable {
  collection_id: string;
  client_id: string;
  direct: boolean;
}

export interface PackageTable {
  id: string;
  name: string;
  description: string;
  created_at: Timestamp;
}

export interface PackageVersionTable {
  package_id: string;
  version: string;
  manifest: string;
  manifest_hash: string;
  total_size: number;
  file_count: number;
  created_at: Timestamp;
}

export interface ProgramTable {
  package_id: string;
  name: string;
  command_line: string;
  working_directory: string;
  environment: Json<Record<string, string>>;
  time_limit_seconds: number;
  elevated: boolean;
  success_exit_codes: Json<number[]>;
}

export interface DeploymentTable {
  id: string;
  name: string;
  package_id: string;
  package_version: string;
  program_name: string;
  collection_id: string;
  available_at: Timestamp;
  mandatory_at: Timestamp | null;
  expires_at: Timestamp | null;
  rerun: 'never' | 'always' | 'if-failed' | 'if-succeeded';
  state: 'active' | 'disabled';
  policy_id: string;
  policy_version: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PolicyBodyTable {
  policy_id: string;
  version: number;
  deployment_id: string;
  envelope: string;
  hash: string;
  created_at: Timestamp;
}

export interface ClientAssignmentTable {
  client_id: string;
  sequence: number;
  envelope: string;
  content_hash: string;
  issued_at: Timestamp;
  expires_at: Timestamp;
}

export interface StatusMessageTable {
  id: Generated<number>;
  message_id: string;
  client_id: string | null;
  site_code: string;
  deployment_id: string | null;
  status_id: number;
  severity: 'info' | 'warning' | 'error';
  component: string;
  machine: string;
  occurred_at: Timestamp;
  received_at: Timestamp;
  insertion_strings: Json<string[]>;
}

export interface DeploymentSummaryTable {
  deployment_id: string;
  targeted: Generated<number>;
  received: Generated<number>;
  downloading: Generated<number>;
  running: Generated<number>;
  succeeded: Generated<number>;
  failed: Generated<number>;
  timed_out: Generated<number>;
  updated_at: Timestamp;
}

export interface DeploymentClientStateTable {
  deployment_id: string;
  client_id: string;
  state: 'targeted' | 'received' | 'downloading' | 'running' | 'succeeded' | 'failed' | 'timed-out';
  status_id: number | null;
  exit_code: number | null;
  detail: string;
  updated_at: Timestamp;
}

export interface ReportInboxTable {
  message_id: string;
  client_id: string;
  report_type: 'heartbeat' | 'inventory' | 'status';
  sequence: number;
  envelope: string;
  received_at: Timestamp;
  processed_at: Timestamp | null;
}

export interface EnrolmentTokenTable {
  id: string;
  token_hash: string;
  description: string;
  uses_left: number;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface BoundaryTable {
  id: string;
  site_code: string;
  kind: 'subnet' | 'range';
  value: string;
  description: string;
}

export interface AdminAccountTable {
  id: string;
  name: string;
  password_hash: string | null;
  directory_dn: string | null;
  disabled: boolean;
  created_at: Timestamp;
}

export interface ApiTokenTable {
  id: string;
  account_id: string;
  name: string;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface AdminRightTable {
  account_id: string;
  object_class: 'collection' | 'package' | 'deployment' | 'client' | 'site';
  instance_id: string;
  rights: Json<string[]>;
}

export interface AuditLogTable {
  seq: number;
  at: Timestamp;
  actor: string;
  action: string;
  object_class: string;
  object_id: string;
  details: Json<unknown>;
  prev_hash: string;
  hash: string;
}

export interface SiteSettingTable {
  name: string;
  value: Json<unknown>;
  updated_at: Timestamp;
}

/** Every table; the hierarchy's own are declared in ../hierarchy/hierarchy-schema.ts. */
export interface SiteDatabase
  extends HierarchyTables, DirectoryAdminTables, LegacyClientTables, SiteSystemTables {
  sites: SiteTable;
  site_systems: SiteSystemTable;
  root_documents: RootDocumentTable;
  certificates: CertificateTable;
  tls_authorities: TlsAuthorityTable;
  tls_certificates: TlsCertificateTable;
  clients: ClientTable;
  discovery: DiscoveryTable;
  inventory_facts: InventoryFactTable;
  inventory_software: InventorySoftwareTable;
  inventory_history: InventoryHistoryTable;
  collections: CollectionTable;
  collection_members: CollectionMemberTable;
  packages: PackageTable;
  package_versions: PackageVersionTable;
  programs: ProgramTable;
  deployments: DeploymentTable;
  policy_bodies: PolicyBodyTable;
  client_assignments: ClientAssignmentTable;
  status_messages: StatusMessageTable;
  deployment_summaries: DeploymentSummaryTable;
  deployment_client_states: DeploymentClientStateTable;
  report_inbox: ReportInboxTable;
  enrolment_tokens: EnrolmentTokenTable;
  boundaries: BoundaryTable;
  admin_accounts: AdminAccountTable;
  api_tokens: ApiTokenTable;
  admin_rights: AdminRightTable;
  audit_log: AuditLogTable;
  site_settings: SiteSettingTable;
}
