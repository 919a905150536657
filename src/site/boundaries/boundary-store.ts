/**
 * The site's boundaries (table `boundaries`): stored in canonical text, validated on the way in,
 * and never overlapping a boundary of another site. Inserts are serialised by a transaction-scoped
 * advisory lock, so two concurrent inserts for different sites cannot both pass the overlap check.
 */
import { sql } from 'kysely';
import { boundariesOverlap, randomId } from '../../trust/index.js';
import { inTransaction, type SiteDb } from '../database/site-db.js';
import { ConflictError, InvalidRequestError, NotFoundError } from '../site-errors.js';
import { BoundaryOverlapError } from './boundary-errors.js';
import { parseBoundary, type BoundaryKind, type SiteBoundary } from './boundary.js';

/** The advisory lock that serialises boundary inserts ("StBd" in ASCII). */
export const boundaryLockKey = 0x53744264;

/** Longest description accepted. */
export const maxBoundaryDescriptionLength = 500;

export interface BoundaryRecord {
  id: string;
  siteCode: string;
  kind: BoundaryKind;
  /** Canonical text: `192.0.2.0/24`, `2001:db8::/32`, `192.0.2.10-192.0.2.20`. */
  value: string;
  description: string;
}

export interface NewBoundary {
  siteCode: string;
  /** A subnet or range as typed; stored in canonical form. */
  value: string;
  /** When given, must agree with the text. */
  kind?: BoundaryKind;
  description?: string;
}

const siteCodePattern = /^[A-Z0-9]{3}$/;
// eslint-disable-next-line no-control-regex -- the rule is exactly about refusing control characters
const controlCharacters = /[\u0000-\u001f\u007f]/;

type BoundaryRow = { id: string; site_code: string; kind: BoundaryKind; value: string; description: string };

function recordOf(row: BoundaryRow): BoundaryRecord {
  return {
    id: row.id,
    siteCode: row.site_code,
    kind: row.kind,
    value: row.value,
    description: row.description,
  };
}

/** Every boundary, or one site's, ordered by site and value. */
export async function listBoundaries(
  db: SiteDb,
  filter: { siteCode?: string } = {},
): Promise<BoundaryRecord[]> {
  let query = db.selectFrom('boundaries').select(['id', 'site_code', 'kind', 'value', 'description']);
  if (filter.siteCode !== undefined) query = query.where('site_code', '=', filter.siteCode);
  const rows = await query.orderBy('site_code').orderBy('value').orderBy('id').execute();
  return rows.map(recordOf);
}

export async function getBoundary(db: SiteDb, id: string): Promise<BoundaryRecord | undefined> {
  const row = await db
    .selectFrom('boundaries')
    .select(['id', 'site_code', 'kind', 'value', 'description'])
    .where('id', '=', id)
    .executeTakeFirst();
  return row === undefined ? undefined : recordOf(row);
}

/**
 * Every stored boundary, parsed, for lookups. A row that no longer parses (edited by hand) is
 * skipped rather than failing every lookup; `skipped` counts such rows.
 */
export async function loadSiteBoundaries(
  db: SiteDb,
): Promise<{ boundaries: SiteBoundary[]; skipped: number }> {
  const rows = await listBoundaries(db);
  const boundaries: SiteBoundary[] = [];
  let skipped = 0;
  for (const row of rows) {
    try {
      boundaries.push({ id: row.id, siteCode: row.siteCode, boundary: parseBoundary(row.value) });
    } catch {
      skipped += 1;
    }
  }
  return { boundaries, skipped };
}

/**
 * Adds a boundary: ERR_BOUNDARY_INVALID for bad text, ERR_INVALID_REQUEST for a bad site code or
 * description, ERR_CONFLICT when the site has this exact boundary already, ERR_BOUNDARY_OVERLAP when
 * it shares an address with another site's boundary (the message names them).
 */
export async function createBoundary(db: SiteDb, input: NewBoundary): Promise<BoundaryRecord> {
  if (!siteCodePattern.test(input.siteCode)) {
    throw new InvalidRequestError('a site code is three upper-case letters or digits');
  }
  const description = input.description ?? '';
  if (description.length > maxBoundaryDescriptionLength || controlCharacters.test(description)) {
    throw new InvalidRequestError(
      `a boundary description has at most ${maxBoundaryDescriptionLength} characters and no control characters`,
    );
  }
  const boundary = parseBoundary(input.value, input.kind);
  return inTransaction(db, async (trx) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(boundaryLockKey)})`.execute(trx);
    const { boundaries } = await loadSiteBoundaries(trx);
    const duplicate = boundaries.find(
      (b) => b.siteCode === input.siteCode && b.boundary.text === boundary.text,
    );
    if (duplicate !== undefined) {
      throw new ConflictError(
        `site ${input.siteCode} has the boundary ${boundary.text} already (${duplicate.id})`,
      );
    }
    const overlaps = boundaries.filter(
      (b) => b.siteCode !== input.siteCode && boundariesOverlap(b.boundary, boundary),
    );
    if (overlaps.length > 0) {
      const named = overlaps
        .slice(0, 5)
        .map((b) => `${b.boundary.text} of site ${b.siteCode} (${b.id})`)
        .join(', ');
      const more = overlaps.length > 5 ? ` and ${overlaps.length - 5} more` : '';
      throw new BoundaryOverlapError(
        `The boundary ${boundary.text} for site ${input.siteCode} overlaps ${named}${more}; ` +
          'a client there would belong to two sites. Remove or narrow one of them first.',
      );
    }
    const row: BoundaryRow = {
      id: `bnd-${randomId().slice(0, 12)}`,
      site_code: input.siteCode,
      kind: boundary.kind,
      value: boundary.text,
      description,
    };
    await trx.insertInto('boundaries').values(row).execute();
    return recordOf(row);
  });
}

/** Removes a boundary and returns it; ERR_NOT_FOUND when there is none with this id. */
export async function deleteBoundary(db: SiteDb, id: string): Promise<BoundaryRecord> {
  const row = await db
    .deleteFrom('boundaries')
    .where('id', '=', id)
    .returning(['id', 'site_code', 'kind', 'value', 'description'])
    .executeTakeFirst();
  if (row === undefined) throw new NotFoundError(`no boundary with id ${id.slice(0, 64)}`);
  return recordOf(row);
}
