import { z } from 'zod';
import type { SiteDb } from '../database/site-db.js';
import { readSetting } from './settings.js';

/** A boundary of a site below that overlaps another site's here, and was therefore not taken. */
export interface BoundaryConflict {
  siteCode: string;
  boundary: string;
  problem: string;
  at: string;
}

export const conflictsKey = 'hierarchy.boundaryConflicts';

const conflictSchema = z.array(
  z.object({ siteCode: z.string(), boundary: z.string(), problem: z.string(), at: z.string() }),
);

export async function boundaryConflicts(db: SiteDb): Promise<BoundaryConflict[]> {
  const parsed = conflictSchema.safeParse(await readSetting(db, conflictsKey));
  return parsed.success ? parsed.data : [];
}
