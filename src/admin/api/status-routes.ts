import { z } from 'zod';
import { statusById } from '../../protocol/index.js';
import { adminRoute } from './route-table.js';

export const statusRoutes = [
  adminRoute({
    method: 'GET',
    path: '/status-messages',
    summary: 'Status messages, newest first, filtered by client, deployment, id or severity',
    tag: 'status',
    query: z.object({
      clientId: z.string().max(64).optional(),
      deploymentId: z.string().max(64).optional(),
      statusId: z.coerce.number().int().optional(),
      severity: z.enum(['info', 'warning', 'error']).optional(),
      before: z.coerce.number().int().optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    right: { objectClass: 'site', right: 'read' },
    handler: async ({ context, query }) => {
      let q = context.db
        .selectFrom('status_messages')
        .select([
          'id',
          'message_id',
          'client_id',
          'machine',
          'deployment_id',
          'status_id',
          'severity',
          'component',
          'occurred_at',
          'received_at',
          'insertion_strings',
        ])
        .orderBy('id', 'desc')
        .limit(query.limit);
      if (query.clientId !== undefined) q = q.where('client_id', '=', query.clientId);
      if (query.deploymentId !== undefined) q = q.where('deployment_id', '=', query.deploymentId);
      if (query.statusId !== undefined) q = q.where('status_id', '=', query.statusId);
      if (query.severity !== undefined) q = q.where('severity', '=', query.severity);
      if (query.before !== undefined) q = q.where('id', '<', query.before);
      const rows = await q.execute();
      const items = rows.map((row) => ({ ...row, text: statusById(row.status_id)?.text ?? null }));
      const last = items.at(-1);
      return { items, next: items.length === query.limit && last !== undefined ? last.id : null };
    },
  }),
];
