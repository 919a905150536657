import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { TokenBuckets } from '../../roles/management-point/rate-limit.js';
import type { SigningKey } from '../../trust/index.js';
import type { SiteDatabase } from '../database/schema.js';
import type { SecurityMode } from '../security-mode/security-mode.js';
import { InvalidRequestError, NotFoundError } from '../site-errors.js';
import { RateLimitedError } from '../../roles/management-point/mp-errors.js';
import { ContentPuller } from './content/content-puller.js';
import { downAppliers, secondaryDownAppliers } from './flows/apply-down.js';
import { upAppliers } from './flows/apply-up.js';
import { forwardChanges } from './flows/change-capture.js';
import type { HierarchyEvents } from './flows/hierarchy-events.js';
import type { SiteHierarchyConfig } from './hierarchy-config.js';
import type { SiteType } from './hierarchy-schema.js';
import {
  acceptJoin,
  certifyRequestApplier,
  helloAnswer,
  helloRequestSchema,
  joinResultApplier,
  joinStatus,
  type JoinSite,
} from './join/join-service.js';
import { receiveSiteMessage, type RecordApplier } from './links/receiver.js';
import { SiteSender } from './links/sender.js';
import { hierarchyPaths } from './hierarchy-paths.js';
import { publishSiteControl, type SiteControlSource } from './site-control.js';
import type { HierarchyAdmin } from './hierarchy-admin.js';
import { exportParentAnswer, importChildKeyRequest } from './join/manual-key-exchange.js';
import type { LinkTls } from './http-client.js';
import { linkPeerSite } from './tls/link-peer.js';
import { clientTlsCertificateApplier, clientTlsRequestApplier } from './tls/client-certificate-flows.js';
import { siteTlsCertificateApplier, siteTlsRequestApplier } from './tls/site-certificate-flows.js';
import type { SiteCertificateIssuer } from '../tls/site-certificate-issuer.js';
import { hierarchyCaBundle } from '../tls/site-certificate-store.js';

/** Largest site-message request body: the 16 MiB envelope in its JSON wrapper. */
export const maxSiteMessageRequestBytes = 17 * 1024 * 1024;

export interface HierarchyServiceOptions {
  db: Kysely<SiteDatabase>;
  code: string;
  name: string;
  siteType: SiteType;
  url: string;
  siteKey: SigningKey;
  rootKeys: readonly SigningKey[];
  hierarchy: SiteHierarchyConfig;
  securityMode: SecurityMode;
  libraryDir: string;
  /** The distribution point children pull content from (this site's). */
  contentUrl: () => Promise<string>;
  events: Omit<HierarchyEvents, 'queued' | 'contentQueued' | 'boundariesChanged'> &
    Partial<Pick<HierarchyEvents, 'boundariesChanged'>>;
  log(level: 'info' | 'warn' | 'error', message: string, error?: unknown): void;
  senderIdleMs?: number;
  senderRetryMs?: number;
  captureIntervalMs?: number;
  /** Site systems of a site without a database of them (a secondary: its proxy MP and DP). */
  siteSystems?: SiteControlSource['siteSystems'];
  /** How often the site control is compared with the one sent last (a change is sent at once). */
  siteControlIntervalMs?: number;
  /** Mutual TLS toward sites served over https: the hierarchy CA and this site's certificate. */
  linkTls?: LinkTls;
  /** The central site's issuer of site server certificates. */
  tlsIssuer?: SiteCertificateIssuer | undefined;
}

/**
 * The hierarchy at a central or primary site (docs/hierarchy.md): the joining endpoints, the
 * receiver (S3), the sender, change capture into the outboxes, site control, and the content
 * puller that feeds this site's distribution point from its parent's.
 */
export class HierarchyService {
  readonly sender: SiteSender;
  readonly puller: ContentPuller;
  readonly events: HierarchyEvents;
  #captureTimer: NodeJS.Timeout | undefined;
  #capturing: Promise<void> | undefined;
  #controlTimer: NodeJS.Timeout | undefined;
  #stopped = true;
  readonly #joinLimiter = new TokenBuckets(10, 1);

  constructor(private readonly options: HierarchyServiceOptions) {
    const log = (message: string, error?: unknown) => options.log('warn', message, error);
    this.sender = new SiteSender(options.db, {
      localCode: options.code,
      siteKey: options.siteKey,
      ...(options.senderIdleMs === undefined ? {} : { idleMs: options.senderIdleMs }),
      ...(options.senderRetryMs === undefined ? {} : { retryMs: options.senderRetryMs }),
      ...(options.linkTls === undefined ? {} : { tls: options.linkTls }),
      log,
    });
    this.puller = new ContentPuller(options.db, {
      libraryDir: options.libraryDir,
      // A secondary site keeps no package rows: its DP serves what the library holds, once verified.
      recordVersions: options.siteType !== 'secondary',
      ...(options.linkTls === undefined ? {} : { tls: options.linkTls }),
      log,
      onPulled: () => this.captureSoon(),
    });
    this.events = {
      boundariesChanged: () => undefined,
      ...options.events,
      queued: () => this.sender.wake(),
      contentQueued: () => this.puller.wake(),
    };
  }

  /** The joining side of this site, as the join handlers and the manual key exchange need it. */
  async joinSite(): Promise<JoinSite> {
    return {
      db: this.options.db,
      code: this.options.code,
      name: this.options.name,
      siteType: this.options.siteType,
      url: this.options.url,
      siteKey: this.options.siteKey,
      rootKeys: this.options.rootKeys,
      hierarchy: this.options.hierarchy,
      contentUrl: await this.options.contentUrl(),
      events: this.events,
      tlsIssuer: this.options.tlsIssuer,
    };
  }

  /** Administrator actions of the manual key exchange, for the admin API. */
  readonly admin: HierarchyAdmin = {
    importKeyRequest: async (file, fingerprint, now) =>
      importChildKeyRequest(await this.joinSite(), file, fingerprint, now).then((answer) => {
        this.sender.wake();
        return answer;
      }),
    exportKeyAnswer: async (joinId, now) => exportParentAnswer(await this.joinSite(), joinId, now),
  };

  register(app: FastifyInstance): void {
    app.post(hierarchyPaths.hello, { bodyLimit: 4096 }, async (request) => {
      this.#limit(request.ip);
      return helloAnswer(await this.joinSite(), parse(helloRequestSchema, request.body), new Date());
    });
    app.post(hierarchyPaths.join, { bodyLimit: 1024 * 1024 }, async (request, reply) => {
      this.#limit(request.ip);
      const body = parse(z.strictObject({ request: z.string().max(1024 * 1024) }), request.body);
      const answer = await acceptJoin(await this.joinSite(), body.request, new Date());
      return reply.code(answer.state === 'pending' ? 202 : 200).send(answer);
    });
    app.get('/hierarchy/v1/joins/:joinId', async (request) => {
      const { joinId } = parse(z.object({ joinId: z.string().regex(/^[0-9a-f]{32}$/) }), request.params);
      return joinStatus(await this.joinSite(), joinId, new Date());
    });
    app.get(hierarchyPaths.tlsCa, async () => {
      const ca = await hierarchyCaBundle(this.options.db);
      if (ca === undefined) throw new NotFoundError('this site holds no hierarchy TLS CA');
      return ca;
    });
    app.post(hierarchyPaths.messages, { bodyLimit: maxSiteMessageRequestBytes }, async (request) => {
      // Over HTTPS: the sending site's certificate, before anything else is read (link-peer.ts).
      const peerSite = linkPeerSite(request.raw.socket);
      const body = parse(
        z.strictObject({
          message: z.string().max(maxSiteMessageRequestBytes).optional(),
          unsigned: z.unknown().optional(),
        }),
        request.body,
      );
      const answer = await receiveSiteMessage(
        this.options.db,
        {
          localCode: this.options.code,
          localType: this.options.siteType,
          appliers: await this.#appliers(),
          hierarchy: this.options.hierarchy,
          log: (message, error) => this.options.log('warn', message, error),
        },
        { message: body.message, unsigned: body.unsigned, peerSite },
        new Date(),
      );
      if (answer.status === 'applied') this.captureSoon();
      return answer;
    });
  }

  async #appliers(): Promise<Partial<Record<string, RecordApplier>>> {
    const site = await this.joinSite();
    const certificates = {
      code: this.options.code,
      siteType: this.options.siteType,
      tlsIssuer: this.options.tlsIssuer,
      queued: () => this.sender.wake(),
    };
    if (this.options.siteType === 'secondary') {
      return {
        ...secondaryDownAppliers(this.events),
        'site-tls-certificate': siteTlsCertificateApplier(certificates),
      };
    }
    return {
      ...downAppliers(this.events),
      ...upAppliers(this.events),
      'certify-request': certifyRequestApplier(site),
      'join-result': joinResultApplier(site),
      'site-tls-request': siteTlsRequestApplier(certificates),
      'site-tls-certificate': siteTlsCertificateApplier(certificates),
      'client-tls-request': clientTlsRequestApplier(certificates),
      'client-tls-certificate': clientTlsCertificateApplier(certificates),
    };
  }

  #limit(address: string): void {
    if (!this.#joinLimiter.take(address, Date.now())) {
      throw new RateLimitedError('too many join requests; try again later');
    }
  }

  start(): void {
    this.#stopped = false;
    this.sender.start();
    this.puller.start();
    this.captureSoon();
    const control = (): void => {
      void publishSiteControl(
        this.options.db,
        {
          code: this.options.code,
          name: this.options.name,
          siteType: this.options.siteType,
          url: this.options.url,
          hierarchy: this.options.hierarchy,
          securityMode: this.options.securityMode,
          ...(this.options.siteSystems === undefined ? {} : { siteSystems: this.options.siteSystems }),
        },
        new Date(),
      )
        .then((version) => {
          if (version !== null) this.sender.wake();
        })
        .catch((error: unknown) => this.options.log('warn', 'publishing the site control failed', error));
    };
    control();
    this.#controlTimer = setInterval(control, this.options.siteControlIntervalMs ?? 60_000);
    this.#controlTimer.unref();
  }

  /** Moves captured changes into the outboxes soon (and then every capture interval). */
  captureSoon(): void {
    if (this.#stopped) return;
    if (this.#capturing !== undefined) return;
    if (this.#captureTimer !== undefined) clearTimeout(this.#captureTimer);
    this.#captureTimer = setTimeout(() => {
      this.#captureTimer = undefined;
      this.#capturing = this.#capture().finally(() => {
        this.#capturing = undefined;
        if (!this.#stopped) {
          this.#captureTimer = setTimeout(() => this.captureSoon(), this.options.captureIntervalMs ?? 500);
          this.#captureTimer.unref();
        }
      });
    }, 20);
    this.#captureTimer.unref();
  }

  async #capture(): Promise<void> {
    try {
      const contentUrl = await this.options.contentUrl();
      let moved = 0;
      for (let round = 0; round < 100; round += 1) {
        const count = await forwardChanges(
          this.options.db,
          { localCode: this.options.code, contentUrl },
          new Date(),
        );
        moved += count;
        if (count === 0) break;
      }
      if (moved > 0) this.sender.wake();
    } catch (error) {
      this.options.log('warn', 'forwarding changes to the site links failed', error);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#controlTimer);
    if (this.#captureTimer !== undefined) clearTimeout(this.#captureTimer);
    await this.#capturing;
    await this.sender.stop();
    await this.puller.stop();
  }
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw new InvalidRequestError(`invalid request: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
