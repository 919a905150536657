/**
 * A management point and distribution point that serve whatever a test hands them: crafted trust
 * bundles, assignment lists, policy bodies, manifests and content made with the trust core (see
 * signed-deployments.ts). It speaks the real protocol over a loopback socket (the paths and
 * schemas of src/protocol), so a real agent process cannot tell it from a site: it stands for a
 * rogue MP, a malicious mirror, or an honest site whose answers a test wants to control byte by
 * byte (a connection dropped mid-file, an endless stream). Registrations are verified (S1) and
 * answered "approved"; reports are verified against the registered key (S2) and recorded, each
 * message id once, like a site.
 */
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  managementPointPaths,
  reportBatchSchema,
  type ReportResult,
  type StatusMessage,
  type TrustBundle,
} from '../../src/protocol/index.js';
import {
  parseEnvelope,
  sha256Hex,
  verifyClientReport,
  verifyRegistration,
  type ClientReportPayload,
  type VerifyingKey,
} from '../../src/trust/index.js';
import type { TestDeployment, TestPackage } from './signed-deployments.js';

/** How one request for a content file is answered. */
export type FileAnswer =
  /** The file, or the single range `bytes=N-` asked for (206). */
  | { kind: 'full' }
  /** Declares the whole file, sends its first `bytes`, then destroys the connection. */
  | { kind: 'drop-after'; bytes: number }
  /** Declares the whole file, sends its first `bytes`, then sends nothing more (the socket stays open). */
  | { kind: 'stall-after'; bytes: number }
  /** Streams without end; stops only when the client goes away. */
  | { kind: 'endless' }
  /** These bytes instead of the file's (a flipped byte, a longer file). */
  | { kind: 'bytes'; bytes: Buffer };

export interface ReceivedReport {
  readonly messageId: string;
  readonly payload: ClientReportPayload;
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly range: string | null;
}

const chunk = Buffer.alloc(64 * 1024, 0x41);

export class RogueManagementPoint {
  /** GET /mp/v1/trust; null answers 404. */
  trustBundle: TrustBundle | null = null;
  /** Per client id: the encoded assignment list it is served. */
  readonly policies = new Map<string, string>();
  /** `policyId/version` to the encoded policy body. */
  readonly bodies = new Map<string, string>();
  /** `packageId/version` to the encoded manifest. */
  readonly manifests = new Map<string, string>();
  /** `packageId/version/path` to the file's bytes. */
  readonly files = new Map<string, Buffer>();
  /** `packageId/version/path` to the answers of the next requests, in order; then 'full'. */
  readonly fileAnswers = new Map<string, FileAnswer[]>();
  /** When false, POST /mp/v1/reports answers 503 (the site is unavailable). */
  acceptReports = true;
  readonly requests: RecordedRequest[] = [];
  readonly reports: ReceivedReport[] = [];
  readonly clientKeys = new Map<string, VerifyingKey>();
  /** Bytes an endless answer pushed so far, and whether its client went away. */
  readonly endless = { bytesPushed: 0, closed: false };

  #url = '';

  private constructor(private readonly app: FastifyInstance) {}

  /** The server's base URL, http://127.0.0.1:PORT. */
  get url(): string {
    return this.#url;
  }

  static async start(): Promise<RogueManagementPoint> {
    const app = Fastify({
      logger: false,
      forceCloseConnections: true,
      routerOptions: { maxParamLength: 512 },
    });
    const self = new RogueManagementPoint(app);
    app.addHook('onRequest', (request, _reply, done) => {
      const range = request.headers.range;
      self.requests.push({ method: request.method, url: request.url, range: range ?? null });
      done();
    });
    app.get(managementPointPaths.trust, (_request, reply) => {
      const bundle = self.trustBundle;
      if (bundle === null) return reply.code(404).send(errorBody('ERR_NOT_FOUND', 'no trust bundle'));
      return sendDocument(reply, JSON.stringify(bundle), undefined);
    });
    app.post(managementPointPaths.register, (request, reply) => {
      const registration = (request.body as { registration?: unknown }).registration;
      try {
        const verified = verifyRegistration(String(registration), new Date());
        self.clientKeys.set(verified.clientId, verified.clientKey);
        return reply.send({ clientId: verified.clientId, state: 'approved' });
      } catch (error) {
        return reply.code(400).send(errorBody('ERR_INVALID_REQUEST', String(error)));
      }
    });
    app.get(
      '/mp/v1/clients/:clientId/policy',
      (request: FastifyRequest<{ Params: { clientId: string } }>, reply) => {
        const envelope = self.policies.get(request.params.clientId);
        if (envelope === undefined) return reply.code(404).send(errorBody('ERR_NOT_FOUND', 'no policy'));
        return sendDocument(reply, envelope, request.headers['if-none-match']);
      },
    );
    app.get(
      '/mp/v1/policy-bodies/:policyId/:version',
      (request: FastifyRequest<{ Params: { policyId: string; version: string } }>, reply) => {
        const body = self.bodies.get(`${request.params.policyId}/${request.params.version}`);
        if (body === undefined) return reply.code(404).send(errorBody('ERR_NOT_FOUND', 'no such policy'));
        return sendDocument(reply, body, undefined);
      },
    );
    app.post(managementPointPaths.reports, (request, reply) => {
      if (!self.acceptReports)
        return reply.code(503).send(errorBody('ERR_DATABASE', 'the site is unavailable', true));
      const batch = reportBatchSchema.parse(request.body);
      return reply.send({
        results: batch.reports.map((r) => self.#receive(r)),
        fullInventoryRequested: false,
      });
    });
    app.get(
      '/dp/v1/packages/:packageId/:version/manifest',
      (request: FastifyRequest<{ Params: { packageId: string; version: string } }>, reply) => {
        const manifest = self.manifests.get(`${request.params.packageId}/${request.params.version}`);
        if (manifest === undefined)
          return reply.code(404).send(errorBody('ERR_NOT_FOUND', 'no such package'));
        return sendDocument(reply, manifest, undefined);
      },
    );
    app.get(
      '/dp/v1/packages/:packageId/:version/files/*',
      (request: FastifyRequest<{ Params: { packageId: string; version: string; '*': string } }>, reply) => {
        const key = `${request.params.packageId}/${request.params.version}/${request.params['*']}`;
        const bytes = self.files.get(key);
        if (bytes === undefined) return reply.code(404).send(errorBody('ERR_NOT_FOUND', 'no such file'));
        const answer = self.fileAnswers.get(key)?.shift() ?? { kind: 'full' };
        return self.#serveFile(request, reply, bytes, answer);
      },
    );
    await app.listen({ host: '127.0.0.1', port: 0 });
    self.#url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    return self;
  }

  /** Serves a package's manifest and files. */
  servePackage(pkg: TestPackage): void {
    this.manifests.set(`${pkg.packageId}/${pkg.version}`, pkg.manifest.encoded);
    for (const file of pkg.files) this.files.set(`${pkg.packageId}/${pkg.version}/${file.path}`, file.bytes);
  }

  /** Serves a deployment's policy body and its package. */
  serveDeployment(deployment: TestDeployment): void {
    this.bodies.set(`${deployment.policyId}/${deployment.version}`, deployment.body.encoded);
    this.servePackage(deployment.pkg);
  }

  /** Status messages received from one client, in arrival order. */
  statusMessages(clientId: string): (StatusMessage & { messageId: string })[] {
    return this.reports
      .filter((r) => r.payload.clientId === clientId && r.payload.reportType === 'status')
      .flatMap((r) =>
        (r.payload.body as { messages: StatusMessage[] }).messages.map((m) => ({
          ...m,
          messageId: r.messageId,
        })),
      );
  }

  fileRequests(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.url.includes('/files/') && r.url.endsWith(`/${path}`));
  }

  async close(): Promise<void> {
    await this.app.close();
  }

  #receive(encoded: string): ReportResult {
    try {
      const envelope = parseEnvelope(encoded);
      const key = this.clientKeys.get(envelope.signatures[0]?.keyid ?? '');
      if (key === undefined) return { messageId: null, status: 'rejected', code: 'ERR_UNKNOWN_CLIENT' };
      const { payload } = verifyClientReport(envelope, key, new Date());
      if (this.reports.some((r) => r.messageId === payload.messageId))
        return { messageId: payload.messageId, status: 'duplicate', code: null };
      this.reports.push({ messageId: payload.messageId, payload });
      return { messageId: payload.messageId, status: 'stored', code: null };
    } catch {
      return { messageId: null, status: 'rejected', code: 'ERR_REPORT_REJECTED' };
    }
  }

  #serveFile(request: FastifyRequest, reply: FastifyReply, bytes: Buffer, answer: FileAnswer): FastifyReply {
    switch (answer.kind) {
      case 'full': {
        const match = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
        if (match?.[1] === undefined) return reply.type('application/octet-stream').send(bytes);
        const start = Number(match[1]);
        if (start >= bytes.length)
          return reply.code(416).header('content-range', `bytes */${bytes.length}`).send();
        return reply
          .code(206)
          .type('application/octet-stream')
          .header('content-range', `bytes ${start}-${bytes.length - 1}/${bytes.length}`)
          .send(bytes.subarray(start));
      }
      case 'bytes':
        return reply.type('application/octet-stream').send(answer.bytes);
      case 'drop-after':
      case 'stall-after': {
        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
        raw.write(bytes.subarray(0, answer.bytes), () => {
          if (answer.kind === 'drop-after') raw.socket?.destroy();
        });
        return reply;
      }
      case 'endless': {
        const endless = this.endless;
        const stream = new Readable({
          read() {
            endless.bytesPushed += chunk.length;
            this.push(chunk);
          },
        });
        stream.once('close', () => (endless.closed = true));
        return reply.type('application/octet-stream').send(stream);
      }
    }
  }
}

function sendDocument(reply: FastifyReply, text: string, ifNoneMatch: string | undefined): FastifyReply {
  const etag = `"${sha256Hex(text).slice(0, 32)}"`;
  reply.header('etag', etag);
  if (ifNoneMatch === etag) return reply.code(304).send();
  return reply.type('application/json').send(text);
}

function errorBody(code: string, message: string, retryable = false) {
  return { error: { code, message, retryable } };
}
