import { z } from 'zod';

/** Keyset paging for every list: `limit` (1..500, default 100) and `after` (the last id seen). */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after: z.string().max(200).optional(),
});

export function nextCursor<T>(items: readonly T[], limit: number, idOf: (item: T) => string): string | null {
  const last = items.at(-1);
  return items.length === limit && last !== undefined ? idOf(last) : null;
}
