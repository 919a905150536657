/**
 * A small fleet of simulated agents for the fault tests (issue 5, fault 1), built from TestClient
 * (test-pki.ts), which signs exactly as an agent does. Each agent runs one mandatory deployment
 * the way `steward agent run` does: the assignment list checked with the certified MP key and the
 * last accepted sequence (C3), the policy body with the certified site keys and the listed hash
 * (C4), the manifest and the content (C5), the program "run" (a pause), and a durable queue of
 * signed status reports that leave it only when the management point acknowledges them. Every
 * request is retried until it succeeds, so a site that was killed and restarted is simply waited
 * for. The fleet records every status message it sent, for an exactly-once comparison with the site.
 */
import { applyTrustBundle, type TrustView } from '../../src/agent/trust/agent-trust.js';
import {
  distributionPointPaths,
  managementPointPaths,
  reportBatchAnswerSchema,
  trustBundleSchema,
  type StatusName,
} from '../../src/protocol/index.js';
import {
  acceptAssignments,
  acceptContentManifest,
  acceptPolicyBody,
  createContentVerifier,
  fingerprintOf,
  type PolicyBodyPayload,
} from '../../src/trust/index.js';
import { statusMessage, TestClient } from './test-pki.js';

export interface FleetSite {
  readonly url: string;
  readonly siteCode: string;
  readonly rootKeyId: string;
}

export interface FleetCounters {
  /** Status messages acknowledged by the management point (stored or duplicate). */
  acknowledged: number;
  /** Requests that got no answer or a 5xx and were retried. */
  retries: number;
  /** Agents whose program-succeeded report was acknowledged. */
  completed: number;
  /** Refusals by the agent's own checks (C3, C4, C5): each one fails the test. */
  refusals: string[];
}

const steps: StatusName[] = [
  'policy-received',
  'download-started',
  'download-completed',
  'program-started',
  'program-succeeded',
];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The trust view every agent of the fleet derives from the pinned root (C1, C2), computed once. */
export async function fleetTrust(site: FleetSite): Promise<TrustView> {
  const response = await fetch(`${site.url}${managementPointPaths.trust}`);
  const bundle = trustBundleSchema.parse(await response.json());
  return applyTrustBundle(
    { chain: bundle.rootChain, pin: fingerprintOf(site.rootKeyId), source: 'pinned', bundleEtag: null },
    bundle,
    site.siteCode,
    new Date(),
  ).view;
}

export class SimulatedFleetAgent {
  /** Message ids of every status report this agent signed, in order. */
  readonly sent: string[] = [];
  readonly #queue: { messageId: string; encoded: string }[] = [];
  #lastSequence: number | null = null;
  #failures = 0;
  done = false;

  constructor(
    readonly client: TestClient,
    private readonly site: FleetSite,
    private readonly trust: TrustView,
    private readonly counters: FleetCounters,
    private readonly programMs: number,
  ) {}

  /** Runs the agent until its deployment `deploymentId` succeeded and every report was acknowledged. */
  async run(deploymentId: string): Promise<void> {
    const body = await this.#body(deploymentId);
    // Reports go out at the end of each stage, as the agent flushes its queue at the end of a cycle.
    this.#report('policy-received', body);
    this.#report('download-started', body);
    const size = await this.#content(body);
    this.#report('download-completed', body, [String(size)]);
    await this.#flush();
    this.#report('program-started', body);
    await sleep(this.programMs);
    this.#report('program-succeeded', body, ['0', String(this.programMs)]);
    await this.#flush();
    this.done = true;
    this.counters.completed += 1;
  }

  /** C3 then C4: the assignment list naming the deployment, then its body. */
  async #body(deploymentId: string): Promise<PolicyBodyPayload> {
    for (;;) {
      const list = await this.#fetchText(managementPointPaths.policy(this.client.id));
      let accepted;
      try {
        accepted = acceptAssignments(list, {
          mpKey: this.trust.mpKey,
          clientId: this.client.id,
          siteCode: this.site.siteCode,
          lastSequence: this.#lastSequence,
          now: new Date(),
        }).payload;
      } catch (error) {
        this.counters.refusals.push(`C3 ${this.client.hostname}: ${String(error)}`);
        throw error;
      }
      this.#lastSequence = accepted.sequence;
      for (const assignment of accepted.assignments) {
        const encoded = await this.#fetchText(
          managementPointPaths.policyBody(assignment.policyId, assignment.version),
        );
        let opened;
        try {
          opened = acceptPolicyBody(encoded, {
            siteKeys: this.trust.siteKeys,
            expectedHash: assignment.hash,
            now: new Date(),
          });
        } catch (error) {
          this.counters.refusals.push(`C4 ${this.client.hostname}: ${String(error)}`);
          throw error;
        }
        if (opened.payload.deploymentId === deploymentId) return opened.payload;
      }
      await sleep(200 + Math.random() * 300);
    }
  }

  /** C5: the manifest, then every file verified while it streams. Returns the package size. */
  async #content(body: PolicyBodyPayload): Promise<number> {
    const base = body.contentUrls[0] ?? this.site.url;
    const { packageId, version, manifestHash } = body.package;
    const manifestText = await this.#fetchText(distributionPointPaths.manifest(packageId, version), base);
    let manifest;
    try {
      manifest = acceptContentManifest(manifestText, {
        siteKeys: this.trust.siteKeys,
        expectedHash: manifestHash,
        packageId,
        packageVersion: version,
        now: new Date(),
      }).payload;
    } catch (error) {
      this.counters.refusals.push(`C5 manifest ${this.client.hostname}: ${String(error)}`);
      throw error;
    }
    for (const file of manifest.files) {
      const bytes = await this.#fetchBytes(distributionPointPaths.file(packageId, version, file.path), base);
      const verifier = createContentVerifier(file);
      try {
        verifier.update(bytes);
        verifier.finish();
      } catch (error) {
        this.counters.refusals.push(`C5 content ${this.client.hostname}: ${String(error)}`);
        throw error;
      }
    }
    return manifest.totalSize;
  }

  #report(name: StatusName, body: PolicyBodyPayload, strings: string[] = []): void {
    const report = this.client.status(
      [
        statusMessage(name, body.deploymentId, new Date(), {
          policyVersion: body.version,
          insertionStrings: strings,
        }),
      ],
      { validForMs: 24 * 3600 * 1000 },
    );
    this.sent.push(report.messageId);
    this.#queue.push({ messageId: report.messageId, encoded: report.encoded });
  }

  /** Sends the queue until it is empty; a report leaves it only when acknowledged. */
  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, 100);
      let answer;
      try {
        const response = await fetch(`${this.site.url}${managementPointPaths.reports}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ reports: batch.map((r) => r.encoded) }),
          signal: AbortSignal.timeout(30_000),
        });
        if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
        answer = reportBatchAnswerSchema.parse(await response.json());
      } catch {
        await this.#backOff();
        continue;
      }
      this.#failures = 0;
      const keep: typeof batch = [];
      batch.forEach((report, index) => {
        const result = answer.results[index];
        if (result?.status === 'stored' || result?.status === 'duplicate') this.counters.acknowledged += 1;
        else if (result?.status === 'rejected')
          this.counters.refusals.push(`report ${report.messageId} rejected: ${result.code ?? ''}`);
        else keep.push(report);
      });
      this.#queue.splice(0, batch.length, ...keep);
    }
  }

  async #fetchText(path: string, base = this.site.url): Promise<string> {
    return (await this.#fetchBytes(path, base)).toString('utf8');
  }

  async #fetchBytes(path: string, base = this.site.url): Promise<Buffer> {
    for (;;) {
      try {
        const response = await fetch(`${base.replace(/\/+$/, '')}${path}`, {
          signal: AbortSignal.timeout(30_000),
        });
        if (response.status === 200) {
          const bytes = Buffer.from(await response.arrayBuffer());
          this.#failures = 0;
          return bytes;
        }
        await response.body?.cancel();
        if (response.status < 500 && response.status !== 429)
          throw new Error(`${path} answered HTTP ${response.status}`);
      } catch (error) {
        if (error instanceof Error && error.message.includes('answered HTTP')) throw error;
      }
      await this.#backOff();
    }
  }

  /** After a failure: 250 ms, doubling to 2 s, with jitter (a fleet must not hammer a site that is down). */
  async #backOff(): Promise<void> {
    this.counters.retries += 1;
    this.#failures += 1;
    const base = Math.min(2000, 250 * 2 ** Math.min(this.#failures - 1, 3));
    await sleep(base / 2 + Math.random() * base);
  }
}

/** Status names a completed agent sent, in order (each deployment step once). */
export const fleetSteps: readonly StatusName[] = steps;
