import { z } from 'zod';
import { appendAudit } from '../audit-log/index.js';
import { inTransaction, type SiteDb } from '../../site/database/site-db.js';
import type { CountedToken } from '../../site/clients/counted-tokens.js';
import { adminRoute } from './route-table.js';

/**
 * The route that creates a counted token (enrolment tokens, legacy client tokens): uses and
 * validity from the body, the token shown once in the answer, and an audit entry in the same
 * transaction (without the token).
 */
export function countedTokenRoute(input: {
  path: string;
  summary: string;
  tag: string;
  auditAction: string;
  create: (
    db: SiteDb,
    options: { description: string; uses: number; expiresAt: Date; now: Date },
  ) => Promise<CountedToken>;
}) {
  return adminRoute({
    method: 'POST',
    path: input.path,
    summary: input.summary,
    tag: input.tag,
    body: z.strictObject({
      description: z.string().max(500).default(''),
      uses: z.number().int().min(1).max(1_000_000).default(1),
      validHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 365)
        .default(24),
    }),
    right: { objectClass: 'client', right: 'create' },
    successStatus: 201,
    handler: async ({ context, body, principal }) => {
      const now = context.now();
      return inTransaction(context.db, async (trx) => {
        const token = await input.create(trx, {
          description: body.description,
          uses: body.uses,
          expiresAt: new Date(now.getTime() + body.validHours * 3600 * 1000),
          now,
        });
        await appendAudit(
          trx,
          {
            actor: principal.name,
            action: input.auditAction,
            objectClass: 'client',
            objectId: token.id,
            details: { uses: body.uses, expiresAt: token.expiresAt.toISOString() },
          },
          now,
        );
        return token;
      });
    },
  });
}
