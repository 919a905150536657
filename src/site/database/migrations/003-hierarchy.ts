import { sql, type Kysely } from 'kysely';

/**
 * Migration 003: the site hierarchy (docs/hierarchy.md, docs/adr/0004-site-hierarchy.md). Join
 * tokens (only their secret's hash), joins in progress, the links to the parent and the children
 * with their per-link sequences, the durable outbox of each link (records, then signed batches),
 * the log of applied inbound messages, objects replicated from ancestors (read-only here), the
 * site control of every site below, per-site deployment summaries, content transfers from the
 * parent's distribution point, the proxy management point's caches, and change capture for what
 * flows up. Row types: src/site/hierarchy/hierarchy-schema.ts.
 */
type Capture = { table: string; events: string; kind: string; column: string; direction: 'up' | 'down' };

/** Which changes are captured, and under which kind and key. */
const captures: readonly Capture[] = [
  // up: what the parent needs to see
  {
    table: 'clients',
    events: 'insert or update of state, hostname, public_key',
    kind: 'client',
    column: 'id',
    direction: 'up',
  },
  { table: 'discovery', events: 'insert or update', kind: 'discovery', column: 'client_id', direction: 'up' },
  { table: 'inventory_history', events: 'insert', kind: 'inventory', column: 'client_id', direction: 'up' },
  { table: 'status_messages', events: 'insert', kind: 'status', column: 'message_id', direction: 'up' },
  {
    table: 'deployment_summaries',
    events: 'insert or update',
    kind: 'deployment-summary',
    column: 'deployment_id',
    direction: 'up',
  },
  // down: what the children need
  { table: 'package_versions', events: 'insert', kind: 'package', column: 'package_id', direction: 'down' },
  { table: 'collections', events: 'insert or update', kind: 'collection', column: 'id', direction: 'down' },
  {
    table: 'collection_members',
    events: 'insert or update or delete',
    kind: 'collection',
    column: 'collection_id',
    direction: 'down',
  },
  { table: 'deployments', events: 'insert or update', kind: 'deployment', column: 'id', direction: 'down' },
  { table: 'root_documents', events: 'insert', kind: 'root', column: 'version', direction: 'down' },
  { table: 'certificates', events: 'insert', kind: 'certificate', column: 'hash', direction: 'down' },
];

export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create table hierarchy_join_tokens (
      id text primary key,
      secret_hash text not null,
      site_type text not null check (site_type in ('primary','secondary')),
      description text not null default '',
      created_by text not null,
      created_at timestamptz not null,
      expires_at timestamptz not null,
      used_at timestamptz,
      used_by text)`,
    `create table hierarchy_joins (
      id text primary key,
      child_code text not null,
      site_type text not null check (site_type in ('primary','secondary')),
      child_url text not null,
      request text not null,
      state text not null check (state in ('pending','certified','refused')),
      result text,
      error text,
      created_at timestamptz not null,
      updated_at timestamptz not null)`,
    `create unique index hierarchy_joins_child on hierarchy_joins (child_code) where state <> 'refused'`,
    `create table site_links (
      site_code text primary key,
      direction text not null check (direction in ('parent','child')),
      site_type text not null check (site_type in ('central','primary','secondary')),
      url text not null,
      outbound_sequence bigint not null default 0,
      acknowledged_sequence bigint not null default 0,
      inbound_sequence bigint not null default 0,
      last_sent_at timestamptz,
      last_received_at timestamptz,
      last_error text,
      last_error_at timestamptz,
      failures integer not null default 0,
      created_at timestamptz not null)`,
    `create table site_outbox (
      id bigserial primary key,
      link_code text not null references site_links(site_code) on delete cascade,
      record_id text not null,
      record_type text not null,
      body jsonb not null,
      bytes integer not null,
      enqueued_at timestamptz not null,
      batch_sequence bigint,
      unique (link_code, record_id))`,
    `create index site_outbox_pending on site_outbox (link_code, id) where batch_sequence is null`,
    `create table site_outbox_batches (
      link_code text not null references site_links(site_code) on delete cascade,
      sequence bigint not null,
      envelope text not null,
      record_count integer not null,
      bytes integer not null,
      created_at timestamptz not null,
      primary key (link_code, sequence))`,
    `create table site_message_log (
      link_code text not null,
      sequence bigint not null,
      hash text not null,
      record_count integer not null,
      skipped integer not null default 0,
      skip_error text,
      unsigned boolean not null default false,
      received_at timestamptz not null,
      primary key (link_code, sequence))`,
    `create table replicated_objects (
      object_class text not null check (object_class in ('package','collection','deployment')),
      object_id text not null,
      origin_site text not null,
      updated_at timestamptz not null,
      primary key (object_class, object_id))`,
    `create table site_controls (
      site_code text primary key,
      parent_code text,
      site_type text not null,
      version bigint not null,
      body jsonb not null,
      received_at timestamptz not null)`,
    `create table site_deployment_summaries (
      deployment_id text not null,
      site_code text not null,
      summary jsonb not null,
      updated_at timestamptz not null,
      primary key (deployment_id, site_code))`,
    `create table content_transfers (
      package_id text not null,
      version text not null,
      manifest_hash text not null,
      source_url text not null,
      state text not null check (state in ('pending','done','failed')),
      attempts integer not null default 0,
      last_error text,
      next_attempt_at timestamptz not null,
      updated_at timestamptz not null,
      primary key (package_id, version))`,
    `create table proxy_clients (
      client_id text primary key,
      public_key text not null,
      state text not null,
      updated_at timestamptz not null)`,
    `create table proxy_policy_cache (
      client_id text primary key,
      envelope text not null,
      etag text,
      sequence bigint not null,
      checked_at timestamptz not null,
      expires_at timestamptz not null)`,
    `create table proxy_policy_bodies (
      policy_id text not null,
      version integer not null,
      envelope text not null,
      hash text not null,
      expires_at timestamptz not null,
      primary key (policy_id, version))`,
    // Change capture: a row per changed object, coalesced. The first change's number is kept, so
    // objects are sent in the order they were first written (dependencies first: a client before
    // its reports, a collection before its deployment), and a link keeps that order. Changes that flow up are captured only
    // while the site has a parent, changes that flow down only while it has children; a row is
    // removed in the transaction that puts its records in the outbox.
    `create table hierarchy_changes (
      seq bigserial not null,
      direction text not null check (direction in ('up','down')),
      kind text not null,
      key text not null,
      changed_at timestamptz not null default now(),
      primary key (direction, kind, key))`,
    `create index hierarchy_changes_order on hierarchy_changes (seq)`,
    `create function hierarchy_capture() returns trigger language plpgsql as $$
      begin
        if exists (select 1 from site_links
                   where direction = (case when TG_ARGV[2] = 'up' then 'parent' else 'child' end)) then
          insert into hierarchy_changes (direction, kind, key)
            values (TG_ARGV[2], TG_ARGV[0],
                    to_jsonb(case when TG_OP = 'DELETE' then OLD else NEW end) ->> TG_ARGV[1])
            on conflict (direction, kind, key) do nothing;
        end if;
        return null;
      end $$`,
    ...captures.map(
      ({ table, events, kind, column, direction }) =>
        `create trigger hierarchy_capture_${direction}_${table} after ${events} on ${table}
          for each row execute function hierarchy_capture('${kind}', '${column}', '${direction}')`,
    ),
  ];
  for (const statement of statements) {
    await sql.raw(statement).execute(db);
  }
}
