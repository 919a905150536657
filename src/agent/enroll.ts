import { access } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import {
  fingerprintOf,
  randomToken,
  signDocument,
  TlsCaMismatchError,
  trustRootFromPin,
  trustRootOnFirstUse,
} from '../trust/index.js';
import type { DirectorySettings } from '../directory/lookup/directory-settings.js';
import type { StatusName, TrustBundle } from '../protocol/index.js';
import { AlreadyEnrolledError, RootRequiredError } from './agent-errors.js';
import { createClientKey } from './identity/client-identity.js';
import { hostAddresses, hostName } from './identity/host-facts.js';
import { ReportQueue } from './reports/report-queue.js';
import { agentLayout } from './state/agent-layout.js';
import { writeAgentConfig } from './state/agent-config.js';
import { acceptRootChain, applyTrustBundle, writeTrustState, type TrustView } from './trust/agent-trust.js';
import { acceptTlsCa, writeInitialTlsState } from './trust/agent-tls.js';
import { bootstrapTls } from './trust/tls-bootstrap.js';
import { ManagementPointClient } from './transport/management-point-client.js';
import { statusReport } from './reports/status-report.js';

export interface EnrollOptions {
  dataDir: string;
  mpUrl: string;
  rootPin: string | null;
  mode: 'secure' | 'directory-only' | 'trust-on-first-use';
  token: string | null;
  hostname?: string;
  passphrase?: boolean;
  keyFileCost?: { N: number; r: number; p: number };
  now: Date;
  /** C1 from the directory: anchor on this chain and fingerprint instead of the MP's chain. */
  anchor?: { chain: readonly string[]; pin: string; source: 'pinned' | 'directory' };
  /** Run after C1 and C2, before registering (directory-only: the MP key must be the directory's). */
  checkTrust?: (view: TrustView, siteCode: string) => void;
  /** Enrolled with `--directory`: kept in agent.json. */
  directory?: DirectorySettings;
  /** Status messages to queue at enrolment (sent once the client is approved). */
  statusReports?: readonly { name: StatusName; insertionStrings: string[] }[];
}

export interface EnrollResult {
  clientId: string;
  state: 'pending' | 'approved' | 'revoked';
  siteCode: string;
  managementPoint: string;
  rootFingerprint: string;
  rootVersion: number;
  rootSource: 'pinned' | 'directory' | 'first-use';
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
  if (options.mode !== 'trust-on-first-use' && options.rootPin === null && options.anchor === undefined) {
    throw new RootRequiredError(
      `${options.mode} mode needs the root key pinned (--root-key FINGERPRINT) or read from the directory; it never trusts on first use`,
    );
  }
  const now = options.now;
  const pin = options.anchor?.pin ?? options.rootPin;
  const rootSource = options.anchor?.source ?? (pin === null ? 'first-use' : 'pinned');
  const trustStateFor = (bundle: TrustBundle) =>
    ({
      chain: options.anchor === undefined ? bundle.rootChain : [...options.anchor.chain],
      pin,
      source: rootSource,
      bundleEtag: null,
    }) as const;
  // Over HTTPS: the root (C1) and the root's endorsement of the hierarchy CA come first, read without
  // validation; everything after goes over a connection validated against that CA (docs/tls.md).
  const bootstrap = options.mpUrl.startsWith('https:')
    ? await bootstrapTls(
        options.mpUrl,
        (offered) => acceptRootChain(trustStateFor(offered), offered, now).root,
        now,
      )
    : undefined;
  const client = new ManagementPointClient(options.mpUrl, () => bootstrap?.tls);
  const offered = await client.trust(null);
  if (offered === 'unchanged') throw new RootRequiredError('the management point sent no trust bundle');
  const bundle = offered.bundle;
  const trustState = trustStateFor(bundle);
  const anchorChain = trustState.chain;
  const root = pin === null ? trustRootOnFirstUse(anchorChain, now) : trustRootFromPin(anchorChain, pin, now);
  const applied = applyTrustBundle({ ...trustState }, bundle, bundle.siteCode, now);
  options.checkTrust?.(applied.view, bundle.siteCode);
  const tlsCa = acceptTlsCa(bundle, applied.view.root, now);
  if (bootstrap !== undefined && tlsCa?.caCertificatePem !== bootstrap.ca.caCertificatePem) {
    throw new TlsCaMismatchError(
      'the management point offered another hierarchy CA over the validated connection',
    );
  }

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
  await writeTrustState(layout.trust, {
    ...trustState,
    chain: applied.chain,
    mpSerials: applied.view.mpSerials,
  });
  if (tlsCa !== undefined && bundle.tlsCaEndorsement !== undefined) {
    await writeInitialTlsState(layout, tlsCa, bundle.tlsCaEndorsement);
  }
  // The enrolling MP first, then every other certified MP of the site (failover, docs/scale-out.md).
  const managementPoints = [
    ...new Set(
      [options.mpUrl, ...applied.view.mpUrls, ...applied.view.otherMps.flatMap((mp) => mp.urls)].map((url) =>
        url.replace(/\/+$/, ''),
      ),
    ),
  ].slice(0, 16);
  await writeAgentConfig(layout.config, {
    format: 'steward-agent/v1',
    clientId: key.keyId,
    siteCode: bundle.siteCode,
    managementPoints,
    mode: options.mode,
    rootSource,
    rootPin: pin,
    keyProtection: protection,
    hostname,
    enrolledAt: now.toISOString(),
    ...(options.directory === undefined ? {} : { directory: options.directory }),
  });
  const reports = [...(options.statusReports ?? [])];
  // C1: trust on first use is recorded and reported to the site (sent once the client is approved).
  if (rootSource === 'first-use') {
    reports.unshift({
      name: 'root-first-use',
      insertionStrings: [fingerprintOf([...root.keys.keys()][0] ?? '')],
    });
  }
  if (reports.length > 0) {
    const queue = new ReportQueue(layout.queue, layout.rejected, layout.counters, {
      clientId: key.keyId,
      siteCode: bundle.siteCode,
      key,
    });
    for (const report of reports) {
      await queue.enqueue('status', statusReport(report.name, null, now, report.insertionStrings), now);
    }
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
