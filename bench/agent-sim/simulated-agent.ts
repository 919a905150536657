import { CacheFullError } from '../../src/agent/agent-errors.js';
import { describe } from '../../src/agent/deployments/deployment-processor.js';
import { mayRun, type RunRecord } from '../../src/agent/runner/run-records.js';
import { statusReport } from '../../src/agent/reports/status-report.js';
import { applyTrustBundle, type TrustState, type TrustView } from '../../src/agent/trust/agent-trust.js';
import { type StatusName } from '../../src/protocol/index.js';
import {
  acceptAssignments,
  acceptPolicyBody,
  isStewardError,
  randomToken,
  sha256Hex,
  signDocument,
  type PolicyBodyPayload,
} from '../../src/trust/index.js';
import { SeededRandom } from '../harness/rng.js';
import { sleep } from '../harness/timing.js';
import { downloadAndVerify } from './content.js';
import type { SimCounters } from './counters.js';
import { FaultInjector, type FaultPlan } from './faults.js';
import type { AgentIdentity } from './identity.js';
import { registerFrom, SimManagementPointClient } from './sim-client.js';
import { SimReportQueue } from './report-queue.js';

export interface SiteUnderTest {
  readonly url: string;
  readonly siteCode: string;
  /** The root fingerprint agents pin (secure mode: C1 never trusts on first use). */
  readonly rootPin: string;
}

export interface SimulatedAgentOptions {
  readonly faults: FaultPlan;
  readonly counters: SimCounters;
  readonly seed: number;
  /** How long the simulated program "runs" (the simulator starts no process). */
  readonly programMs: number;
}

/**
 * One simulated agent, holding in memory what `steward agent run` keeps in its data folder. Each
 * cycle is the real agent's (src/agent/agent-engine.ts): trust with its ETag (C1, C2), policy with
 * its ETag and the assignment list verified every time (C3), bodies verified once (C4), mandatory
 * deployments downloaded and verified (C5), the program "run", and signed status reports flushed
 * in batches, leaving the queue only when the management point acknowledges them after commit.
 */
export class SimulatedAgent {
  readonly #client: SimManagementPointClient;
  readonly #faults: FaultInjector;
  readonly #random: SeededRandom;
  #trust: TrustState | undefined;
  #view: TrustView | undefined;
  #trustEtag: string | null = null;
  #policyEtag: string | null = null;
  #assignments: string | undefined;
  #lastSequence: number | null = null;
  readonly #bodies = new Map<string, PolicyBodyPayload>();
  readonly #received = new Map<string, number>();
  readonly #runs = new Map<string, RunRecord>();
  readonly #content = new Set<string>();
  readonly #queue: SimReportQueue;
  #discovered = false;
  cycles = 0;

  constructor(
    readonly identity: AgentIdentity,
    readonly site: SiteUnderTest,
    private readonly options: SimulatedAgentOptions,
  ) {
    this.#random = SeededRandom.derive(options.seed, `agent-${identity.index}`);
    this.#faults = new FaultInjector(options.faults, this.#random, options.counters.faults);
    this.#client = new SimManagementPointClient(site.url, this.#faults, options.counters);
    this.#queue = new SimReportQueue(identity, site.siteCode, this.#random, options.counters);
  }

  get clientId(): string {
    return this.identity.clientId;
  }

  get random(): SeededRandom {
    return this.#random;
  }

  get pendingReports(): number {
    return this.#queue.length;
  }

  /**
   * `steward agent enroll` in secure mode: the pinned root (C1), the MP certificate (C2), then S1.
   * A retryable failure (the MP's registration rate limit, a lost answer) is tried again after a
   * pause, as an administrator's enrolment script would.
   */
  async enrol(): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.#enrolOnce();
        return;
      } catch (error) {
        if (!isStewardError(error) || !error.retryable || attempt > 200) throw error;
        this.options.counters.error(`enrol: ${error.code}`);
        await sleep(500 + this.#random.next() * 1500);
      }
    }
  }

  async #enrolOnce(): Promise<void> {
    const now = new Date();
    await this.#anchorTrust(now);
    const registration = signDocument(
      {
        kind: 'client-registration',
        version: 1,
        clientKey: this.identity.key.publicRecord(),
        siteCode: this.site.siteCode,
        hostname: this.identity.hostname,
        addresses: [this.identity.sourceAddress],
        mode: 'secure',
        rootSource: 'pinned',
        enrolmentToken: null,
        nonce: randomToken(16),
        issuedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + 10 * 60_000).toISOString(),
      },
      [this.identity.key],
    );
    this.options.counters.agentSigns += 1;
    this.options.counters.count('register');
    const answer = await registerFrom(this.site.url, registration.encoded, this.identity.sourceAddress);
    if (answer.clientId !== this.clientId) throw new Error('the MP answered for another client id');
  }

  /** An agent whose registration is already in the site database: it only anchors its trust. */
  async adopt(): Promise<void> {
    await this.#anchorTrust(new Date());
  }

  async #anchorTrust(now: Date): Promise<void> {
    const offered = await this.#client.trust(null);
    if (offered === 'unchanged') throw new Error('the management point sent no trust bundle');
    const state: TrustState = {
      chain: offered.bundle.rootChain,
      pin: this.site.rootPin,
      source: 'pinned',
      bundleEtag: null,
    };
    const applied = applyTrustBundle(state, offered.bundle, this.site.siteCode, now);
    // C1 twice (the held root, then the extended chain), C2, and one site certificate.
    this.options.counters.agentVerifiesTrust += 4;
    this.#trust = { ...state, chain: applied.chain };
    this.#view = applied.view;
    this.#trustEtag = offered.etag;
  }

  /** One agent cycle; errors are counted and end the cycle after the reports are flushed. */
  async cycle(): Promise<void> {
    this.cycles += 1;
    const now = new Date();
    let reached = false;
    try {
      await this.#refreshTrust(now);
      reached = true;
      if (!this.#discovered) this.#discovery(now);
      for (const body of await this.#policy(now)) await this.#deployment(body, now);
    } catch (error) {
      this.options.counters.error(isStewardError(error) ? error.code : 'ERR_INTERNAL');
    }
    if (reached || this.#queue.length > 0) await this.#queue.flush(this.#client);
  }

  async #refreshTrust(now: Date): Promise<void> {
    const offered = await this.#client.trust(this.#trustEtag);
    if (offered === 'unchanged') return;
    if (this.#trust === undefined) throw new Error('not enrolled');
    const applied = applyTrustBundle(this.#trust, offered.bundle, this.site.siteCode, now);
    this.options.counters.agentVerifiesTrust += 4;
    this.#view = applied.view;
    this.#trustEtag = offered.etag;
  }

  #discovery(now: Date): void {
    this.#queue.enqueue(
      'heartbeat',
      {
        hostname: this.identity.hostname,
        domain: null,
        addresses: [this.identity.sourceAddress],
        agentVersion: 'bench-simulator',
        platform: 'linux-x64',
        uptimeSeconds: 1,
      },
      null,
      now,
    );
    const facts = {
      'os.family': 'linux',
      'memory.totalMb': 2048 * (1 + (this.identity.index % 8)),
      'cpu.cores': 1 + (this.identity.index % 4),
    };
    this.#queue.enqueue(
      'inventory',
      {
        full: true,
        baseHash: null,
        hash: sha256Hex(JSON.stringify(facts)),
        facts: { set: facts, removed: [] },
        software: { set: [], removed: [] },
      },
      null,
      now,
    );
    this.#discovered = true;
  }

  async #policy(now: Date): Promise<PolicyBodyPayload[]> {
    const view = this.#view;
    if (view === undefined) return [];
    const answer = await this.#client.policy(this.clientId, this.#policyEtag);
    const envelope = answer === 'unchanged' ? this.#assignments : answer.envelope;
    if (envelope === undefined) {
      this.#policyEtag = null;
      return [];
    }
    let accepted;
    try {
      if (answer === 'unchanged') this.options.counters.agentVerifiesRepeat += 1;
      else this.options.counters.agentVerifiesNeeded += 1;
      accepted = acceptAssignments(envelope, {
        mpKey: view.mpKey,
        // C3, as the agent does it: a list another certified MP of the site signed is as good.
        otherMpKeys: view.otherMps.map((mp) => mp.key),
        clientId: this.clientId,
        siteCode: this.site.siteCode,
        lastSequence: this.#lastSequence,
        now,
      });
    } catch (error) {
      this.#report('assignments-refused', null, [describe(error)], now);
      throw error;
    }
    if (answer !== 'unchanged') {
      if (accepted.payload.sequence !== this.#lastSequence) this.options.counters.siteSigns += 1;
      this.#policyEtag = answer.etag;
      this.#assignments = envelope;
    }
    this.#lastSequence = accepted.payload.sequence;
    const bodies: PolicyBodyPayload[] = [];
    for (const assignment of accepted.payload.assignments) {
      let body = this.#bodies.get(assignment.hash);
      if (body === undefined) {
        try {
          const encoded = await this.#client.policyBody(assignment.policyId, assignment.version);
          this.options.counters.agentVerifiesNeeded += 1;
          body = acceptPolicyBody(encoded, {
            siteKeys: view.siteKeys,
            expectedHash: assignment.hash,
            now,
          }).payload;
          this.#bodies.set(assignment.hash, body);
        } catch (error) {
          this.#report('policy-body-refused', null, [assignment.policyId, describe(error)], now);
          continue;
        }
      }
      bodies.push(body);
    }
    return bodies;
  }

  /** src/agent/deployments/deployment-processor.ts, with the program simulated. */
  async #deployment(body: PolicyBodyPayload, now: Date): Promise<void> {
    const key = body.deploymentId;
    if (this.#received.get(key) !== body.version) {
      this.#report('policy-received', body, [body.program.name], now);
      this.#received.set(key, body.version);
    }
    const schedule = body.schedule;
    if (Date.parse(schedule.availableAt) > now.getTime()) return;
    if (schedule.expiresAt !== null && Date.parse(schedule.expiresAt) <= now.getTime()) return;
    if (schedule.mandatoryAt === null || Date.parse(schedule.mandatoryAt) > now.getTime()) return;
    if (!mayRun(body.rerun, this.#runs.get(key), body.version)) return;
    const contentKey = body.package.manifestHash;
    if (!this.#content.has(contentKey)) {
      this.#report('download-started', body, [], new Date());
      try {
        const manifest = await downloadAndVerify(body, {
          siteKeys: this.#view?.siteKeys ?? new Map(),
          now,
          faults: this.#faults,
          counters: this.options.counters,
        });
        this.#content.add(contentKey);
        this.#report('download-completed', body, [String(manifest.totalSize)], new Date());
      } catch (error) {
        this.#report(statusForContentError(error), body, [describe(error)], new Date());
        this.options.counters.error(isStewardError(error) ? error.code : 'ERR_DOWNLOAD');
        return;
      }
    }
    const startedAt = new Date();
    this.#runs.set(key, {
      deploymentId: key,
      policyVersion: body.version,
      state: 'running',
      exitCode: null,
      startedAt: startedAt.toISOString(),
      finishedAt: null,
      runs: (this.#runs.get(key)?.runs ?? 0) + 1,
    });
    this.#report('program-started', body, [body.program.commandLine], startedAt);
    if (this.options.programMs > 0) await sleep(this.options.programMs);
    const finishedAt = new Date();
    const record = this.#runs.get(key);
    if (record !== undefined)
      this.#runs.set(key, {
        ...record,
        state: 'succeeded',
        exitCode: 0,
        finishedAt: finishedAt.toISOString(),
      });
    this.#report(
      'program-succeeded',
      body,
      ['0', String(finishedAt.getTime() - startedAt.getTime())],
      finishedAt,
      {
        exitCode: 0,
        outputTail: 'simulated program output\n',
      },
    );
  }

  #report(
    name: StatusName,
    body: PolicyBodyPayload | null,
    strings: string[],
    at: Date,
    extra: { exitCode?: number | null; outputTail?: string | null } = {},
  ): void {
    const deployment =
      body === null ? null : { deploymentId: body.deploymentId, policyVersion: body.version };
    this.#queue.enqueue('status', statusReport(name, deployment, at, strings, extra), name, at);
  }
}

/** src/agent/deployments/deployment-processor.ts statusForContentError. */
function statusForContentError(error: unknown): StatusName {
  if (error instanceof CacheFullError) return 'cache-full';
  if (!isStewardError(error)) return 'download-failed';
  switch (error.code) {
    case 'ERR_HASH_MISMATCH':
    case 'ERR_CONTENT_SIZE':
      return 'hash-mismatch';
    case 'ERR_SIGNATURE_INVALID':
    case 'ERR_UNKNOWN_KEY':
    case 'ERR_THRESHOLD_NOT_MET':
    case 'ERR_PAYLOAD_INVALID':
    case 'ERR_EXPIRED':
    case 'ERR_ENVELOPE_INVALID':
      return 'manifest-refused';
    default:
      return 'download-failed';
  }
}
