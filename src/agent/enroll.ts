import { access } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import {
  fingerprintOf,
  randomToken,
  signDocument,
  trustRootFromPin,
  trustRootOnFirstUse,
} from '../trust/index.js';
import { AlreadyEnrolledError, RootRequiredError } from './agent-errors.js';
import { createClientKey } from './identity/client-identity.js';
import { hostAddresses, hostName } from './identity/host-facts.js';
import { ReportQueue } from './reports/report-queue.js';
import { agentLayout } from './state/agent-layout.js';
import { writeAgentConfig } from './state/agent-config.js';
import { applyTrustBundle, writeTrustState } from './trust/agent-trust.js';
import { ManagementPointClient } from './transport/management-point-client.js';
import { statusReport } from './reports/status-report.js';

export interface EnrollOptions {
  dataDir: string;
  mpUrl: string;
  rootPin: string | null;
  mode: 'secure' | 'trust-on-first-use';
  token: string | null;
  hostname?: string;
  passphrase?: boolean;
  keyFileCost?: { N: number; r: number; p: number };
  now: Date;
}

export interface EnrollResult {
  clientId: string;
  state: 'pending' | 'approved' | 'revoked';
  siteCode: string;
  managementPoint: string;
  rootFingerprint: string;
  rootVersion: number;
  rootSource: 'pinned' | 'first-use';
  mode: EnrollOptions['mode'];
}

/**
 * `steward agent enroll` (DESIGN.md sections 2 and 3): obtain the root (C1: a pinned fingerprint,
 * or trust on first use recorded as such; `secure` mode never trusts on first use), verify the
 * management point's certificate against it (C2), generate the client key and register with proof
 * of possession (S1).
 */
export async function enrollAgent(options: EnrollOptions): Promise<EnrollResult> {
  const layout = agentLayout(options.dataDir);
  if (await exists(layout.config))
    throw new AlreadyEnrolledError(`${options.dataDir} already holds an enrolled agent`);
  if (options.mode === 'secure' && options.rootPin === null) {
    throw new RootRequiredError(
      'secure mode needs the root key pinned (--root-key FINGERPRINT); it never trusts on first use',
    );
  }
  const now = options.now;
  const client = new ManagementPointClient(options.mpUrl);
  const offered = await client.trust(null);
  if (offered === 'unchanged') throw new RootRequiredError('the management point sent no trust bundle');
  const bundle = offered.bundle;
  const root =
    options.rootPin === null
      ? trustRootOnFirstUse(bundle.rootChain, now)
      : trustRootFromPin(bundle.rootChain, options.rootPin, now);
  const rootSource = options.rootPin === null ? 'first-use' : 'pinned';
  const trustState = {
    chain: bundle.rootChain,
    pin: options.rootPin,
    source: rootSource,
    bundleEtag: null,
  } as const;
  const applied = applyTrustBundle({ ...trustState }, bundle, bundle.siteCode, now);

  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const protection = options.passphrase === true ? 'passphrase' : 'secret-file';
  const key = await createClientKey(layout, protection, options.keyFileCost);
  const hostname = options.hostname ?? hostName();
  const registration = signDocument(
    {
      kind: 'client-registration',
      version: 1,
      clientKey: key.publicRecord(),
      siteCode: bundle.siteCode,
      hostname,
      addresses: hostAddresses(),
      mode: options.mode,
      rootSource,
      enrolmentToken: options.token,
      nonce: randomToken(16),
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 10 * 60_000).toISOString(),
    },
    [key],
  );
  const answer = await client.register(registration.encoded);
  if (answer.clientId !== key.keyId) {
    throw new RootRequiredError('the management point answered for another client id; enrolment abandoned');
  }
  await writeTrustState(layout.trust, { ...trustState, chain: applied.chain });
  const managementPoints = [...new Set([options.mpUrl.replace(/\/+$/, ''), ...applied.view.mpUrls])];
  await writeAgentConfig(layout.config, {
    format: 'steward-agent/v1',
    clientId: key.keyId,
    siteCode: bundle.siteCode,
    managementPoints,
    mode: options.mode,
    rootSource,
    rootPin: options.rootPin,
    keyProtection: protection,
    hostname,
    enrolledAt: now.toISOString(),
  });
  if (rootSource === 'first-use') {
    // C1: trust on first use is recorded and reported to the site (sent once the client is approved).
    const queue = new ReportQueue(layout.queue, layout.rejected, layout.counters, {
      clientId: key.keyId,
      siteCode: bundle.siteCode,
      key,
    });
    await queue.enqueue(
      'status',
      statusReport('root-first-use', null, now, [fingerprintOf([...root.keys.keys()][0] ?? '')]),
      now,
    );
  }
  return {
    clientId: key.keyId,
    state: answer.state,
    siteCode: bundle.siteCode,
    managementPoint: options.mpUrl,
    rootFingerprint: fingerprintOf([...applied.view.root.keys.keys()][0] ?? ''),
    rootVersion: applied.view.root.version,
    rootSource,
    mode: options.mode,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
