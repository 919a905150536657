import { sql } from 'kysely';
import { statusById, type DeploymentState, type StatusMessage } from '../../protocol/index.js';
import type { DeploymentClientStateTable } from '../database/schema.js';
import { toJson, type SiteDb } from '../database/site-db.js';
import { chunks } from '../inventory/inventory-store.js';

/** A status message as the inbox processor hands it over: one report may carry many. */
export interface IncomingStatus {
  messageId: string;
  clientId: string;
  machine: string;
  message: StatusMessage;
}

type ClientDeploymentState = DeploymentClientStateTable['state'];

const summaryColumn: Record<Exclude<ClientDeploymentState, 'targeted'>, SummaryColumn> = {
  received: 'received',
  downloading: 'downloading',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  'timed-out': 'timed_out',
};
type SummaryColumn = 'received' | 'downloading' | 'running' | 'succeeded' | 'failed' | 'timed_out';

/**
 * Stores status messages and keeps each deployment's summary current as they arrive (DESIGN.md
 * section 5): every client counts in exactly one state column, moved by the newest message.
 * Messages that arrive out of order (a resend of an older one) are stored but move nothing back;
 * a message id stored before is the same message and moves nothing again.
 */
export async function applyStatusMessages(
  db: SiteDb,
  siteCode: string,
  incoming: readonly IncomingStatus[],
  receivedAt: Date,
): Promise<void> {
  if (incoming.length === 0) return;
  const unique = [...new Map(incoming.map((item) => [item.messageId, item] as const)).values()];
  const fresh = new Set<string>();
  for (const chunk of chunks(unique, 500)) {
    const inserted = await db
      .insertInto('status_messages')
      .values(
        chunk.map((item) => {
          const definition = statusById(item.message.statusId);
          return {
            message_id: item.messageId,
            client_id: item.clientId,
            site_code: siteCode,
            deployment_id: item.message.deploymentId,
            status_id: item.message.statusId,
            severity: definition?.severity ?? 'info',
            component: 'agent',
            machine: item.machine,
            occurred_at: item.message.occurredAt,
            received_at: receivedAt,
            insertion_strings: toJson(item.message.insertionStrings),
          };
        }),
      )
      .onConflict((oc) => oc.column('message_id').doNothing())
      .returning('message_id')
      .execute();
    for (const row of inserted) fresh.add(row.message_id);
  }
  await moveDeploymentStates(
    db,
    unique.filter((item) => fresh.has(item.messageId)),
    receivedAt,
  );
}

async function moveDeploymentStates(
  db: SiteDb,
  incoming: readonly IncomingStatus[],
  now: Date,
): Promise<void> {
  const moves = incoming
    .map((item) => ({ item, state: statusById(item.message.statusId)?.state ?? null }))
    .filter(
      (m): m is { item: IncomingStatus; state: DeploymentState } =>
        m.state !== null && m.item.message.deploymentId !== null,
    )
    .sort((a, b) => Date.parse(a.item.message.occurredAt) - Date.parse(b.item.message.occurredAt));
  if (moves.length === 0) return;

  const deploymentIds = [...new Set(moves.map((m) => m.item.message.deploymentId ?? ''))];
  const known = new Set(
    (await db.selectFrom('deployments').select('id').where('id', 'in', deploymentIds).execute()).map(
      (r) => r.id,
    ),
  );
  const relevant = moves.filter((m) => known.has(m.item.message.deploymentId ?? ''));
  if (relevant.length === 0) return;

  const key = (deploymentId: string, clientId: string) => `${deploymentId}\u0000${clientId}`;
  // Times compare as instants: `10:00:05Z` is before `10:00:05.500Z`, whatever the text says.
  const current = new Map<string, { state: ClientDeploymentState; at: number }>();
  for (const ids of chunks(
    deploymentIds.filter((id) => known.has(id)),
    100,
  )) {
    const clientIds = [...new Set(relevant.map((m) => m.item.clientId))];
    const rows = await db
      .selectFrom('deployment_client_states')
      .select(['deployment_id', 'client_id', 'state', 'updated_at'])
      .where('deployment_id', 'in', ids)
      .where('client_id', 'in', clientIds)
      .execute();
    for (const row of rows) {
      current.set(key(row.deployment_id, row.client_id), {
        state: row.state,
        at: new Date(row.updated_at).getTime(),
      });
    }
  }

  const deltas = new Map<string, Map<SummaryColumn, number>>();
  const bump = (deploymentId: string, column: SummaryColumn, by: number) => {
    const perDeployment = deltas.get(deploymentId) ?? new Map<SummaryColumn, number>();
    perDeployment.set(column, (perDeployment.get(column) ?? 0) + by);
    deltas.set(deploymentId, perDeployment);
  };
  const finalStates = new Map<
    string,
    { deploymentId: string; clientId: string; state: ClientDeploymentState; item: IncomingStatus }
  >();
  for (const { item, state } of relevant) {
    const deploymentId = item.message.deploymentId ?? '';
    const k = key(deploymentId, item.clientId);
    const before = current.get(k);
    const occurredAt = Date.parse(item.message.occurredAt);
    if (before !== undefined && before.at > occurredAt) continue;
    if (before !== undefined && before.state !== 'targeted')
      bump(deploymentId, summaryColumn[before.state], -1);
    bump(deploymentId, summaryColumn[state], 1);
    current.set(k, { state, at: occurredAt });
    finalStates.set(k, { deploymentId, clientId: item.clientId, state, item });
  }

  const rows = [...finalStates.values()].map((f) => ({
    deployment_id: f.deploymentId,
    client_id: f.clientId,
    state: f.state,
    status_id: f.item.message.statusId,
    exit_code: f.item.message.exitCode,
    detail: (f.item.message.outputTail ?? f.item.message.insertionStrings.join(' ')).slice(-2000),
    updated_at: f.item.message.occurredAt,
  }));
  for (const chunk of chunks(rows, 500)) {
    await db
      .insertInto('deployment_client_states')
      .values(chunk)
      .onConflict((oc) =>
        oc.columns(['deployment_id', 'client_id']).doUpdateSet((eb) => ({
          state: eb.ref('excluded.state'),
          status_id: eb.ref('excluded.status_id'),
          exit_code: eb.ref('excluded.exit_code'),
          detail: eb.ref('excluded.detail'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
  for (const [deploymentId, columns] of deltas) {
    const set: Record<string, unknown> = { updated_at: now };
    for (const [column, by] of columns) {
      if (by !== 0) set[column] = sql`${sql.ref(column)} + ${by}`;
    }
    await db.updateTable('deployment_summaries').set(set).where('deployment_id', '=', deploymentId).execute();
  }
}
