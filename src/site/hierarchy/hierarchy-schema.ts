import type { ColumnType, Generated } from 'kysely';

/**
 * Row types of the hierarchy's tables (migration 003-hierarchy). Kept beside the code that owns
 * them; src/site/database/schema.ts includes them in the site database's type.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export type SiteType = 'central' | 'primary' | 'secondary';
export type ChildSiteType = 'primary' | 'secondary';

export interface HierarchyJoinTokenTable {
  id: string;
  secret_hash: string;
  site_type: ChildSiteType;
  description: string;
  created_by: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  used_by: string | null;
}

export interface HierarchyJoinTable {
  id: string;
  child_code: string;
  site_type: ChildSiteType;
  child_url: string;
  /** The child's signed join request (a site-message envelope). */
  request: string;
  state: 'pending' | 'certified' | 'refused';
  /** The signed join result handed to the child (a site-message envelope). */
  result: string | null;
  error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SiteLinkTable {
  site_code: string;
  direction: 'parent' | 'child';
  site_type: SiteType;
  url: string;
  /** Last sequence given to an outbound batch. */
  outbound_sequence: Generated<number>;
  /** Last outbound sequence the other site acknowledged (it committed it). */
  acknowledged_sequence: Generated<number>;
  /** Last inbound sequence this site applied. */
  inbound_sequence: Generated<number>;
  last_sent_at: Timestamp | null;
  last_received_at: Timestamp | null;
  last_error: string | null;
  last_error_at: Timestamp | null;
  failures: Generated<number>;
  created_at: Timestamp;
}

export interface SiteOutboxTable {
  id: Generated<number>;
  link_code: string;
  record_id: string;
  record_type: string;
  body: Json<unknown>;
  bytes: number;
  enqueued_at: Timestamp;
  batch_sequence: number | null;
}

export interface SiteOutboxBatchTable {
  link_code: string;
  sequence: number;
  envelope: string;
  record_count: number;
  bytes: number;
  created_at: Timestamp;
}

export interface SiteMessageLogTable {
  link_code: string;
  sequence: number;
  hash: string;
  record_count: number;
  /** Records refused one by one (schema, or data this site cannot apply); the rest applied. */
  skipped: Generated<number>;
  skip_error: string | null;
  unsigned: Generated<boolean>;
  received_at: Timestamp;
}

export interface ReplicatedObjectTable {
  object_class: 'package' | 'collection' | 'deployment';
  object_id: string;
  origin_site: string;
  updated_at: Timestamp;
}

export interface SiteControlTable {
  site_code: string;
  parent_code: string | null;
  site_type: SiteType;
  version: number;
  body: Json<unknown>;
  received_at: Timestamp;
}

export interface SiteDeploymentSummaryTable {
  deployment_id: string;
  site_code: string;
  summary: Json<unknown>;
  updated_at: Timestamp;
}

export interface ContentTransferTable {
  package_id: string;
  version: string;
  manifest_hash: string;
  source_url: string;
  state: 'pending' | 'done' | 'failed';
  attempts: Generated<number>;
  last_error: string | null;
  next_attempt_at: Timestamp;
  updated_at: Timestamp;
}

export interface ProxyClientTable {
  client_id: string;
  public_key: string;
  state: string;
  updated_at: Timestamp;
}

export interface ProxyPolicyCacheTable {
  client_id: string;
  envelope: string;
  etag: string | null;
  sequence: number;
  checked_at: Timestamp;
  expires_at: Timestamp;
}

export interface ProxyPolicyBodyTable {
  policy_id: string;
  version: number;
  envelope: string;
  hash: string;
  expires_at: Timestamp;
}

export type UpChangeKind = 'client' | 'discovery' | 'inventory' | 'status' | 'deployment-summary';
export type DownChangeKind = 'package' | 'collection' | 'deployment' | 'root' | 'certificate';

export interface HierarchyChangeTable {
  seq: Generated<number>;
  direction: 'up' | 'down';
  kind: UpChangeKind | DownChangeKind;
  key: string;
  changed_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface HierarchyTables {
  hierarchy_join_tokens: HierarchyJoinTokenTable;
  hierarchy_joins: HierarchyJoinTable;
  site_links: SiteLinkTable;
  site_outbox: SiteOutboxTable;
  site_outbox_batches: SiteOutboxBatchTable;
  site_message_log: SiteMessageLogTable;
  replicated_objects: ReplicatedObjectTable;
  site_controls: SiteControlTable;
  site_deployment_summaries: SiteDeploymentSummaryTable;
  content_transfers: ContentTransferTable;
  proxy_clients: ProxyClientTable;
  proxy_policy_cache: ProxyPolicyCacheTable;
  proxy_policy_bodies: ProxyPolicyBodyTable;
  hierarchy_changes: HierarchyChangeTable;
}
