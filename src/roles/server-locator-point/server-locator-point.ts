import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  locateRequestSchema,
  serverLocatorLimits,
  serverLocatorPaths,
  type LocateAnswer,
} from '../../protocol/index.js';
import { BoundaryIndex, loadSiteBoundaries, type BoundaryMatch } from '../../site/boundaries/index.js';
import type { SiteDb } from '../../site/database/site-db.js';
import { currentCertificate, rootChain } from '../../site/hierarchy/trust-store.js';
import { InvalidRequestError } from '../../site/site-errors.js';
import {
  maxLocatorAnswerValidityMs,
  maxLocatorManagementPoints,
  sha256Hex,
  signDocument,
  type SigningKey,
} from '../../trust/index.js';
import { LocatorUnavailableError, NoBoundaryError } from './slp-errors.js';

export interface ServerLocatorPointOptions {
  db: SiteDb;
  /** This site: the only site it answers for (its key signs the answers). */
  siteCode: string;
  siteKey: SigningKey;
  clock?: () => Date;
  /** Validity of a signed answer; default 15 minutes, at most one hour. */
  answerValidityMs?: number;
  /** A cached answer is re-signed once less than this is left of it; default 5 minutes. */
  renewMarginMs?: number;
  /** How long boundaries, management points and certificates read from the database are reused; default 30 s. */
  refreshMs?: number;
  /** Failures of background refreshes (the previous view keeps serving). */
  onError?: (error: unknown) => void;
}

type ManagementPointEntry = { name: string; urls: string[] };

/** What the locator answers from: read from the database, reused for refreshMs. */
interface LocatorView {
  loadedAtMs: number;
  index: BoundaryIndex;
  managementPoints: ManagementPointEntry[];
  /**
   * The proxy management points of this site's secondary sites, by site code: a client in a
   * secondary site's boundary belongs to this site but is sent to that proxy MP first (SMS).
   */
  secondaries: Map<string, ManagementPointEntry[]>;
  siteCertificate: string | undefined;
  rootChain: string[];
  /** Why the site cannot answer, when it cannot. */
  unavailable: string | undefined;
  /** Changes whenever the management points or the trust material change. */
  contentKey: string;
}

interface CachedAnswer {
  body: Buffer;
  renewAtMs: number;
}

const maxCachedAnswers = 4096;
const maxUrlsPerManagementPoint = 8;
// eslint-disable-next-line no-control-regex -- the rule is exactly about refusing control characters
const controlCharacters = /[\u0000-\u001f\u007f]/;

/**
 * The server locator point (DESIGN.md section 3): POST /slp/v1/locate with a client's addresses
 * answers which site serves it and that site's management points, signed by the site key.
 *
 * Signing stays off the hot path: the signed answer names the matching boundary, not the asking
 * client's addresses, so one signature serves every client of a boundary. Answers are cached per
 * (boundary, management point set, trust material) and re-signed only when less than
 * renewMarginMs of their validity is left; a flood of locate requests costs no signatures and no
 * database queries (the view is re-read at most every refreshMs, or after invalidate()).
 */
export class ServerLocatorPoint {
  readonly #options: ServerLocatorPointOptions;
  readonly #now: () => Date;
  readonly #validityMs: number;
  readonly #marginMs: number;
  readonly #refreshMs: number;
  readonly #answers = new Map<string, CachedAnswer>();
  #view: LocatorView | undefined;
  #loading: { generation: number; promise: Promise<LocatorView> } | undefined;
  #generation = 0;
  #signatures = 0;

  constructor(options: ServerLocatorPointOptions) {
    this.#options = options;
    this.#now = options.clock ?? (() => new Date());
    this.#validityMs = options.answerValidityMs ?? 15 * 60 * 1000;
    this.#marginMs = options.renewMarginMs ?? 5 * 60 * 1000;
    this.#refreshMs = options.refreshMs ?? 30_000;
    if (this.#validityMs <= 0 || this.#validityMs > maxLocatorAnswerValidityMs) {
      throw new RangeError('answerValidityMs must be more than 0 and at most one hour');
    }
    if (this.#marginMs < 0 || this.#marginMs >= this.#validityMs) {
      throw new RangeError('renewMarginMs must be at least 0 and less than answerValidityMs');
    }
  }

  /** Answers signed since start (for tests and metrics). */
  get signatureCount(): number {
    return this.#signatures;
  }

  /** Boundaries, site systems or certificates changed: the next request reads them again. */
  invalidate(): void {
    this.#generation += 1;
    this.#view = undefined;
  }

  register(app: FastifyInstance): void {
    app.post(
      serverLocatorPaths.locate,
      { bodyLimit: serverLocatorLimits.maxRequestBytes },
      async (request, reply) => {
        const parsed = locateRequestSchema.safeParse(request.body);
        if (!parsed.success) {
          throw new InvalidRequestError(`invalid request body: ${z.prettifyError(parsed.error)}`);
        }
        const body = await this.locate(parsed.data.addresses);
        return reply.type('application/json').header('cache-control', 'no-store').send(body);
      },
    );
  }

  /** The encoded answer body for these addresses (the route's work, without HTTP). */
  async locate(addresses: readonly string[]): Promise<Buffer> {
    const view = await this.#currentView();
    const match = view.index.match(addresses);
    if (match === undefined) {
      throw new NoBoundaryError(
        'None of the addresses lies inside a boundary known to this server locator point; ' +
          'ask an administrator to add a boundary (steward boundary add) for this network.',
      );
    }
    const proxies = match.siteCode === this.#options.siteCode ? [] : view.secondaries.get(match.siteCode);
    if (proxies === undefined) {
      throw new NoBoundaryError(
        `The addresses belong to boundary ${match.boundary.text} of site ${match.siteCode}; this server ` +
          `locator point answers for site ${this.#options.siteCode} only. Ask site ${match.siteCode}'s locator.`,
      );
    }
    if (view.unavailable !== undefined) throw new LocatorUnavailableError(view.unavailable);
    const offered = [...proxies, ...view.managementPoints].slice(0, maxLocatorManagementPoints);
    return this.#answerFor(view, match, offered);
  }

  #answerFor(view: LocatorView, match: BoundaryMatch, managementPoints: ManagementPointEntry[]): Buffer {
    const nowDate = this.#now();
    const nowMs = nowDate.getTime();
    const key = `${match.siteCode}|${match.boundary.text}|${view.contentKey}`;
    const cached = this.#answers.get(key);
    if (cached !== undefined && nowMs < cached.renewAtMs) return cached.body;
    const signed = signDocument(
      {
        kind: 'locator-answer',
        version: 1,
        siteCode: this.#options.siteCode,
        boundary: match.boundary.text,
        managementPoints,
        issuedAt: nowDate.toISOString(),
        expiresAt: new Date(nowMs + this.#validityMs).toISOString(),
      },
      [this.#options.siteKey],
    );
    this.#signatures += 1;
    const answer: LocateAnswer = {
      answer: signed.encoded,
      siteCertificate: view.siteCertificate ?? '',
      rootChain: view.rootChain,
    };
    const entry = {
      body: Buffer.from(JSON.stringify(answer)),
      renewAtMs: nowMs + this.#validityMs - this.#marginMs,
    };
    if (this.#answers.size >= maxCachedAnswers) this.#evict(nowMs);
    this.#answers.set(key, entry);
    return entry.body;
  }

  #evict(nowMs: number): void {
    for (const [key, entry] of this.#answers) if (entry.renewAtMs <= nowMs) this.#answers.delete(key);
    if (this.#answers.size >= maxCachedAnswers) this.#answers.clear();
  }

  async #currentView(): Promise<LocatorView> {
    const view = this.#view;
    const nowMs = this.#now().getTime();
    if (view !== undefined) {
      // Stale while revalidating: the old view answers until the new one is read.
      if (nowMs - view.loadedAtMs >= this.#refreshMs) {
        this.#reload().catch((error: unknown) => this.#options.onError?.(error));
      }
      return view;
    }
    return this.#reload();
  }

  #reload(): Promise<LocatorView> {
    const generation = this.#generation;
    // A read started before the last invalidate() may hold old data: it is not shared.
    if (this.#loading?.generation === generation) return this.#loading.promise;
    const promise = this.#readView()
      .then((view) => {
        if (generation === this.#generation) this.#view = view;
        return view;
      })
      .finally(() => {
        if (this.#loading?.promise === promise) this.#loading = undefined;
      });
    this.#loading = { generation, promise };
    return promise;
  }

  async #readView(): Promise<LocatorView> {
    const { db, siteCode, siteKey } = this.#options;
    const loadedAtMs = this.#now().getTime();
    const { boundaries } = await loadSiteBoundaries(db);
    const managementPoints = await readManagementPoints(db, siteCode);
    const secondaries = new Map<string, ManagementPointEntry[]>();
    for (const site of await db
      .selectFrom('sites')
      .select('code')
      .where('parent_code', '=', siteCode)
      .where('site_type', '=', 'secondary')
      .execute()) {
      secondaries.set(site.code, await readManagementPoints(db, site.code));
    }
    const certificate = await currentCertificate(db, 'site-certificate', siteCode);
    const chain = await rootChain(db);
    let unavailable: string | undefined;
    if (managementPoints.length === 0) {
      unavailable = `site ${siteCode} has no management point with a URL to offer`;
    } else if (certificate === undefined || certificate.keyId !== siteKey.keyId) {
      unavailable = `site ${siteCode} has no site certificate for its current site key`;
    } else if (chain.length === 0) {
      unavailable = `site ${siteCode} holds no root document`;
    }
    return {
      loadedAtMs,
      index: new BoundaryIndex(boundaries),
      managementPoints,
      secondaries,
      siteCertificate: certificate?.envelope,
      rootChain: chain,
      unavailable,
      contentKey: sha256Hex(
        JSON.stringify([managementPoints, [...secondaries], certificate?.envelope ?? null, chain]),
      ),
    };
  }
}

function isOfferableUrl(text: unknown): text is string {
  if (typeof text !== 'string' || text.length > 2048 || !URL.canParse(text)) return false;
  const url = new URL(text);
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.hostname !== '' &&
    url.username === '' &&
    url.password === ''
  );
}

/** The site's management points that are not down, with their usable URLs, by name (at most 16). */
async function readManagementPoints(db: SiteDb, siteCode: string): Promise<ManagementPointEntry[]> {
  const rows = await db
    .selectFrom('site_systems')
    .select(['name', 'urls'])
    .where('site_code', '=', siteCode)
    .where('role', '=', 'management-point')
    .where('health', '!=', 'down')
    .orderBy('name')
    .execute();
  const entries: ManagementPointEntry[] = [];
  for (const row of rows) {
    if (row.name.length === 0 || row.name.length > 256 || controlCharacters.test(row.name)) continue;
    const urls = [...new Set((Array.isArray(row.urls) ? row.urls : []).filter(isOfferableUrl))].slice(
      0,
      maxUrlsPerManagementPoint,
    );
    if (urls.length > 0) entries.push({ name: row.name, urls });
    if (entries.length === maxLocatorManagementPoints) break;
  }
  return entries;
}
