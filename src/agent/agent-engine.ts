import { z } from 'zod';
import type { StatusName } from '../protocol/index.js';
import {
  acceptAssignments,
  acceptPolicyBody,
  sha256Hex,
  type PolicyBodyPayload,
  type SigningKey,
} from '../trust/index.js';
import { ManagementPointUnreachableError } from './agent-errors.js';
import { ContentCache } from './content/content-cache.js';
import { describe, processDeployment, settleInterruptedRuns } from './deployments/deployment-processor.js';
import { clientKeySecret, loadClientKey } from './identity/client-identity.js';
import { hostAddresses, hostDomain } from './identity/host-facts.js';
import { collectInventory, type InventorySnapshot } from './inventory/collect-inventory.js';
import { inventoryReport } from './inventory/inventory-delta.js';
import { ReportQueue } from './reports/report-queue.js';
import { flushReports } from './reports/report-sender.js';
import { statusReport } from './reports/status-report.js';
import { agentLayout, type AgentLayout } from './state/agent-layout.js';
import { readAgentConfig, writeAgentConfig, type AgentConfig } from './state/agent-config.js';
import { readState, writeState } from './state/json-state.js';
import {
  acceptManagementPoint,
  mpSerialsChanged,
  acceptRootChain,
  readTrustState,
  writeTrustState,
  type AcceptedRoot,
  type TrustView,
} from './trust/agent-trust.js';
import { acceptTlsCa, AgentTls } from './trust/agent-tls.js';
import { ManagementPointClient } from './transport/management-point-client.js';
import { stewardAgentVersion } from './agent-version.js';
import { DirectoryLocations } from './locate/directory-refresh.js';

export interface AgentOptions {
  pollIntervalMs: number;
  heartbeatIntervalMs: number;
  inventoryIntervalMs: number;
  cacheMaxBytes: number;
  log: (line: string) => void;
}

const policyStateSchema = z.strictObject({
  lastSequence: z.number().int().nullable(),
  lastHash: z.string().nullable(),
  etag: z.string().nullable(),
  lastHeartbeatAt: z.number().nullable(),
  lastInventoryAt: z.number().nullable(),
  fullInventoryRequested: z.boolean(),
});
type PolicyState = z.output<typeof policyStateSchema>;

export interface CycleResult {
  managementPoint: string | null;
  assignments: number;
  reportsSent: number;
  reportsQueued: number;
  errors: string[];
}

/**
 * The agent (DESIGN.md sections 2, 3, 5): each cycle checks trust (C1, C2), polls policy with its
 * ETag (C3), verifies bodies (C4), acts on deployments (C5 and the program), sends heartbeat and
 * inventory when due, and flushes the durable report queue.
 */
export class AgentEngine {
  #view: TrustView | undefined;
  #trustEtag: string | null = null;
  #bodies = new Map<string, PolicyBodyPayload>();
  #mpIndex = 0;
  #managementPoints: string[] = [];
  /** Directory-only mode: MP locations and keys from the directory (DESIGN.md section 3). */
  #directory: DirectoryLocations | undefined;
  /** The hierarchy TLS CA and this client's certificate (docs/tls.md); unused over plain HTTP. */
  #tls!: AgentTls;

  private constructor(
    readonly layout: AgentLayout,
    readonly config: AgentConfig,
    private readonly key: SigningKey,
    private readonly queue: ReportQueue,
    private readonly cache: ContentCache,
    private readonly options: AgentOptions,
  ) {
    this.#managementPoints = [...config.managementPoints];
  }

  static async open(dataDir: string, options: AgentOptions): Promise<AgentEngine> {
    const layout = agentLayout(dataDir);
    const config = await readAgentConfig(layout.config);
    const key = await loadClientKey(layout, config.keyProtection);
    const queue = new ReportQueue(layout.queue, layout.rejected, layout.counters, {
      clientId: config.clientId,
      siteCode: config.siteCode,
      key,
    });
    const engine = new AgentEngine(
      layout,
      config,
      key,
      queue,
      new ContentCache(layout.cache, options.cacheMaxBytes),
      options,
    );
    engine.#tls = await AgentTls.load(layout, clientKeySecret(layout, config.keyProtection));
    await settleInterruptedRuns(layout.runs, async (deploymentId, policyVersion) => {
      await queue.enqueue(
        'status',
        statusReport('program-failed', { deploymentId, policyVersion }, new Date(), [
          'interrupted: the agent stopped while the program ran',
        ]),
        new Date(),
      );
    });
    const directory = config.directory;
    if (config.mode === 'directory-only' && directory !== undefined) {
      engine.#directory = new DirectoryLocations(
        layout,
        { ...config, directory },
        (strings) => engine.#report('directory-entry-rejected', null, strings),
        options.log,
      );
    }
    return engine;
  }

  /** One full cycle: trust, policy, content, run, report. */
  async cycle(signal?: AbortSignal): Promise<CycleResult> {
    const errors: string[] = [];
    const now = new Date();
    const state = (await readState(this.layout.policy, policyStateSchema)) ?? initialPolicyState();
    let client: ManagementPointClient | null = null;
    let assignments = 0;
    try {
      client = await this.#connect(now);
      await this.#discovery(state, now);
      const bodies = await this.#policy(client, state, now);
      assignments = bodies.length;
      const connected = client;
      const inUse = new Set(bodies.map((b) => `${b.package.packageId}/${b.package.version}`));
      for (const body of bodies) {
        if (signal?.aborted === true) break;
        await processDeployment(
          body,
          {
            agentDir: this.layout.dataDir,
            runsPath: this.layout.runs,
            cache: this.cache,
            siteKeys: this.#view?.siteKeys ?? new Map(),
            tls: this.#tls.clientOptions(new Date()),
            // The DP beside this MP first (a secondary site's): content is verified wherever it comes from (C5).
            preferredContentUrls: [connected.baseUrl],
            inUse,
            report: (name, b, strings, extra) => this.#report(name, b, strings, extra),
            log: this.options.log,
            flush: async () => {
              await flushReports(this.queue, connected, this.options.log);
            },
            ...(signal === undefined ? {} : { signal }),
          },
          new Date(),
        );
      }
    } catch (error) {
      errors.push(describe(error));
      this.options.log(describe(error));
    }
    let reportsSent = 0;
    if (client !== null) {
      const outcome = await flushReports(this.queue, client, this.options.log);
      reportsSent = outcome.sent;
      if (outcome.fullInventoryRequested) state.fullInventoryRequested = true;
    }
    await writeState(this.layout.policy, state);
    return {
      managementPoint: client?.baseUrl ?? null,
      assignments,
      reportsSent,
      reportsQueued: await this.queue.count(),
      errors,
    };
  }

  /** Runs cycles until the signal aborts, sleeping the poll interval with ±20% jitter in between. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const result = await this.cycle(signal);
      // Back off while no management point answers (or reports stay queued): 2x per failed cycle,
      // at most 16 poll intervals, so a returning site is not flooded by every agent at once.
      failures = result.managementPoint === null || result.reportsQueued > 0 ? Math.min(failures + 1, 4) : 0;
      const jitter = 0.8 + Math.random() * 0.4;
      await sleep(this.options.pollIntervalMs * 2 ** failures * jitter, signal);
    }
  }

  /** Finds a reachable management point (in configured order, failing over) and checks trust. */
  async #connect(now: Date): Promise<ManagementPointClient> {
    const urls = (await this.#directory?.managementPointUrls(now)) ?? this.#managementPoints;
    let lastError: unknown = undefined;
    for (let attempt = 0; attempt < urls.length; attempt += 1) {
      const url = urls[(this.#mpIndex + attempt) % urls.length] ?? '';
      const client = new ManagementPointClient(url, () => this.#tls.clientOptions(new Date()));
      try {
        await this.#refreshTrust(client, now);
        this.#mpIndex = (this.#mpIndex + attempt) % urls.length;
        await this.#ensureClientCertificate(client, now);
        return client;
      } catch (error) {
        lastError = error;
        if (!(error instanceof ManagementPointUnreachableError)) throw error;
      }
    }
    throw lastError instanceof Error
      ? lastError
      : new ManagementPointUnreachableError('no management point is configured');
  }

  async #refreshTrust(client: ManagementPointClient, now: Date): Promise<void> {
    const offered = await client.trust(this.#view === undefined ? null : this.#trustEtag);
    if (offered === 'unchanged') return;
    const held = await readTrustState(this.layout.trust);
    if (held === undefined) throw new Error('the trust state is missing; enrol again');
    let accepted: AcceptedRoot;
    try {
      // C1: the root, following only valid rotations from the one held.
      accepted = acceptRootChain(held, offered.bundle, now);
    } catch (error) {
      await this.#report('root-refused', null, [describe(error)]);
      throw error;
    }
    try {
      // C2: the MP certificate chains to that root, for this site, within its validity.
      const view = acceptManagementPoint(
        offered.bundle,
        accepted.root,
        this.config.siteCode,
        now,
        held.mpSerials,
      );
      // Directory-only: the MP's certified key must also be one the directory publishes for the site.
      await this.#directory?.checkManagementPoint(view, now);
      // The hierarchy TLS CA, only as endorsed by that root (C1); HTTPS then trusts it alone.
      const ca = acceptTlsCa(offered.bundle, accepted.root, now);
      if (ca !== undefined && offered.bundle.tlsCaEndorsement !== undefined) {
        await this.#tls.setCa(ca, offered.bundle.tlsCaEndorsement);
      }
      this.#view = view;
      await this.#learnManagementPoints(view);
    } catch (error) {
      await this.#report('mp-certificate-refused', null, [describe(error)]);
      throw error;
    }
    this.#trustEtag = offered.etag;
    const view = this.#view;
    if (accepted.chain.length !== held.chain.length || mpSerialsChanged(held, view))
      await writeTrustState(this.layout.trust, {
        ...held,
        chain: accepted.chain,
        mpSerials: view.mpSerials,
      });
    if (accepted.rotatedFrom !== null) {
      await this.#report('root-rotated', null, [String(accepted.rotatedFrom), String(accepted.root.version)]);
    }
  }

  /**
   * The site's other certified MPs (C2-checked in the view) join the failover list, kept in
   * agent.json so an agent that starts while its first MP is down still finds them
   * (docs/scale-out.md). At most 16 URLs are kept; the ones configured at enrolment come first.
   */
  async #learnManagementPoints(view: TrustView): Promise<void> {
    const known = new Set(this.#managementPoints);
    const offered = [...view.mpUrls, ...view.otherMps.flatMap((mp) => mp.urls)].map((url) =>
      url.replace(/\/+$/, ''),
    );
    const added = offered.filter((url) => !known.has(url));
    if (added.length === 0 || this.#directory !== undefined) return;
    this.#managementPoints = [...this.#managementPoints, ...added].slice(0, 16);
    await writeAgentConfig(this.layout.config, { ...this.config, managementPoints: this.#managementPoints });
  }

  /**
   * Over HTTPS, policy and reports need a client certificate (docs/tls.md): asked for once the
   * client is approved (a pending client gets ERR_CLIENT_NOT_APPROVED and waits), and again when a
   * quarter of its validity is left. While the old one is in date, a failed renewal only waits for
   * the next cycle.
   */
  async #ensureClientCertificate(client: ManagementPointClient, now: Date): Promise<void> {
    if (!client.baseUrl.startsWith('https:') || !this.#tls.needsClientCertificate(now)) return;
    const request = await this.#tls.prepareRequest(this.key, this.config.siteCode, now);
    try {
      const answer = await client.clientCertificate(this.config.clientId, request.encoded);
      await request.accept(answer.certificate);
      this.options.log(`client certificate issued, valid until ${answer.notAfter}`);
    } catch (error) {
      if (this.#tls.clientOptions(now)?.cert === undefined) throw error;
      this.options.log(
        `renewing the client certificate failed (the current one is still valid): ${describe(error)}`,
      );
    }
  }

  async #policy(client: ManagementPointClient, state: PolicyState, now: Date): Promise<PolicyBodyPayload[]> {
    const view = this.#view;
    if (view === undefined) return [];
    const answer = await client.policy(this.config.clientId, state.etag);
    let envelope: string;
    if (answer === 'unchanged') {
      const cached = await this.#cachedAssignments();
      if (cached === undefined) {
        state.etag = null;
        return this.#policy(client, state, now);
      }
      envelope = cached;
    } else {
      envelope = answer.envelope;
    }
    let accepted;
    try {
      // C3: signed by the certified MP of this site, addressed to this client, not older, not expired.
      accepted = acceptAssignments(envelope, {
        mpKey: view.mpKey,
        // C3: a list another certified MP of the site signed is as good (failover keeps the list).
        otherMpKeys: view.otherMps.map((mp) => mp.key),
        clientId: this.config.clientId,
        siteCode: this.config.siteCode,
        lastSequence: state.lastSequence,
        now,
      });
      const hash = sha256Hex(envelope);
      if (
        accepted.payload.sequence === state.lastSequence &&
        state.lastHash !== null &&
        state.lastHash !== hash &&
        answer !== 'unchanged'
      ) {
        // Same sequence, different list: the sequence did not move with the content.
        await this.#report('assignments-refused', null, ['same sequence with different content']);
        return [];
      }
      state.lastSequence = accepted.payload.sequence;
      state.lastHash = hash;
      if (answer !== 'unchanged') {
        state.etag = answer.etag;
        // The list first, then the state naming its sequence and ETag: a crash between the two
        // leaves an old ETag, so the next poll fetches the list again rather than a 304.
        await writeState(`${this.layout.policy}.assignments`, { envelope });
        // C3: the accepted sequence is durable before anything acts on the list.
        await writeState(this.layout.policy, state);
      }
    } catch (error) {
      await this.#report('assignments-refused', null, [describe(error)]);
      throw error;
    }
    const bodies: PolicyBodyPayload[] = [];
    for (const assignment of accepted.payload.assignments) {
      let body = this.#bodies.get(assignment.hash);
      if (body === undefined) {
        try {
          const encoded = await client.policyBody(assignment.policyId, assignment.version);
          // C4: signed by a certified site key and equal to the hash in the assignment list.
          body = acceptPolicyBody(encoded, {
            siteKeys: view.siteKeys,
            expectedHash: assignment.hash,
            now,
          }).payload;
          this.#bodies.set(assignment.hash, body);
        } catch (error) {
          await this.#report('policy-body-refused', null, [assignment.policyId, describe(error)]);
          continue;
        }
      }
      bodies.push(body);
    }
    return bodies;
  }

  async #cachedAssignments(): Promise<string | undefined> {
    return (await readState(`${this.layout.policy}.assignments`, z.strictObject({ envelope: z.string() })))
      ?.envelope;
  }

  async #discovery(state: PolicyState, now: Date): Promise<void> {
    const nowMs = now.getTime();
    if (state.lastHeartbeatAt === null || nowMs - state.lastHeartbeatAt >= this.options.heartbeatIntervalMs) {
      await this.queue.enqueue(
        'heartbeat',
        {
          hostname: this.config.hostname,
          domain: hostDomain(),
          addresses: hostAddresses(),
          agentVersion: stewardAgentVersion,
          platform: `${process.platform}-${process.arch}`,
          uptimeSeconds: Math.round(process.uptime()),
        },
        now,
      );
      state.lastHeartbeatAt = nowMs;
    }
    if (
      state.lastInventoryAt === null ||
      state.fullInventoryRequested ||
      nowMs - state.lastInventoryAt >= this.options.inventoryIntervalMs
    ) {
      const previous = await readState(this.layout.inventory, inventorySnapshotSchema);
      const current = await collectInventory();
      const body = inventoryReport(previous, current, state.fullInventoryRequested);
      if (body !== null) {
        await this.queue.enqueue('inventory', body, now);
        await writeState(this.layout.inventory, current);
      }
      state.lastInventoryAt = nowMs;
      state.fullInventoryRequested = false;
    }
  }

  async #report(
    name: StatusName,
    body: PolicyBodyPayload | null,
    insertionStrings: string[] = [],
    extra: { exitCode?: number | null; outputTail?: string | null } = {},
  ): Promise<void> {
    const deployment =
      body === null ? null : { deploymentId: body.deploymentId, policyVersion: body.version };
    await this.queue.enqueue(
      'status',
      statusReport(name, deployment, new Date(), insertionStrings, extra),
      new Date(),
    );
  }
}

const inventorySnapshotSchema: z.ZodType<InventorySnapshot> = z.object({
  facts: z.record(z.string(), z.union([z.string(), z.number()])),
  software: z.array(
    z.object({ name: z.string(), version: z.string(), arch: z.string(), source: z.string() }),
  ),
});

function initialPolicyState(): PolicyState {
  return {
    lastSequence: null,
    lastHash: null,
    etag: null,
    lastHeartbeatAt: null,
    lastInventoryAt: null,
    fullInventoryRequested: false,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
