/**
 * Signed deployments for agent tests, made with the trust core exactly as a site makes them: a
 * package (its files and site-signed content manifest), a site-signed policy body and an MP-signed
 * assignment list, plus the crafted variants an attacker or a broken mirror would serve (tampered,
 * re-signed, swapped, rolled back, expired, mis-addressed, escaping). CONVENTIONS.md: "test doubles
 * are real code".
 */
import {
  encodeEnvelope,
  payloadTypeOf,
  sha256Hex,
  signDocument,
  signEnvelope,
  type DocumentKind,
  type SigningKey,
} from '../../src/trust/index.js';
import type { TestSitePki } from './test-pki.js';

const day = 24 * 3600 * 1000;

/** A signed document as served: the encoded envelope and the SHA-256 of its payload bytes. */
export interface ServedDocument {
  readonly encoded: string;
  readonly hash: string;
}

export interface TestPackage {
  readonly packageId: string;
  readonly version: string;
  readonly files: readonly { path: string; bytes: Buffer }[];
  readonly manifest: ServedDocument;
}

export interface TestDeployment {
  readonly policyId: string;
  readonly version: number;
  readonly deploymentId: string;
  readonly pkg: TestPackage;
  readonly body: ServedDocument;
}

type Signer = Pick<TestSitePki, 'siteCode' | 'siteKey'>;

/**
 * Signs a payload as given, without the schema check signDocument makes: for documents that the
 * agent must refuse for their content (a path escaping the package), signed by a trusted key.
 */
export function signRawDocument(
  kind: DocumentKind,
  payload: Record<string, unknown>,
  signers: readonly SigningKey[],
): ServedDocument {
  const bytes = Buffer.from(JSON.stringify(payload));
  return {
    encoded: encodeEnvelope(signEnvelope(payloadTypeOf(kind), bytes, signers)),
    hash: sha256Hex(bytes),
  };
}

/** The manifest payload of a set of files, as a site's import writes it. */
export function manifestPayload(
  siteCode: string,
  packageId: string,
  version: string,
  files: readonly { path: string; bytes: Buffer }[],
  now = new Date(),
): Record<string, unknown> {
  const entries = files.map((f) => ({ path: f.path, size: f.bytes.length, sha256: sha256Hex(f.bytes) }));
  return {
    kind: 'content-manifest',
    version: 1,
    packageId,
    packageVersion: version,
    siteCode,
    files: entries,
    totalSize: entries.reduce((sum, f) => sum + f.size, 0),
    issuedAt: new Date(now.getTime() - day).toISOString(),
    expiresAt: new Date(now.getTime() + 365 * day).toISOString(),
  };
}

/** A package version: its files and a manifest signed by the site key (or `signer`). */
export function buildTestPackage(
  pki: Signer,
  input: {
    packageId: string;
    version?: string;
    files: Record<string, string | Buffer>;
    signer?: SigningKey;
    now?: Date;
  },
): TestPackage {
  const version = input.version ?? '1.0';
  const files = Object.entries(input.files).map(([path, content]) => ({
    path,
    bytes: typeof content === 'string' ? Buffer.from(content) : content,
  }));
  const payload = manifestPayload(pki.siteCode, input.packageId, version, files, input.now);
  const manifest = signDocument(payload as Parameters<typeof signDocument>[0], [input.signer ?? pki.siteKey]);
  return { packageId: input.packageId, version, files, manifest };
}

export interface PolicyBodyInput {
  pkg: TestPackage;
  contentUrls: string[];
  commandLine: string;
  policyId?: string;
  deploymentId?: string;
  version?: number;
  rerun?: 'never' | 'always' | 'if-failed' | 'if-succeeded';
  timeLimitSeconds?: number;
  /** Defaults: available and mandatory since a minute ago, no expiry. */
  schedule?: { availableAt: string; mandatoryAt: string | null; expiresAt: string | null };
  /** Overrides the manifest hash the body promises (for a body naming another manifest). */
  manifestHash?: string;
  signer?: SigningKey;
  now?: Date;
}

/** The payload of a policy body for a deployment of `pkg`. */
export function policyBodyPayload(pki: Signer, input: PolicyBodyInput): Record<string, unknown> {
  const now = input.now ?? new Date();
  const since = new Date(now.getTime() - 60_000).toISOString();
  const deploymentId = input.deploymentId ?? `${pki.siteCode}-dep-${input.pkg.packageId}`;
  return {
    kind: 'policy-body',
    version: input.version ?? 1,
    policyId: input.policyId ?? `${deploymentId}-policy`,
    siteCode: pki.siteCode,
    deploymentId,
    package: {
      packageId: input.pkg.packageId,
      version: input.pkg.version,
      manifestHash: input.manifestHash ?? input.pkg.manifest.hash,
    },
    program: {
      name: 'install',
      commandLine: input.commandLine,
      workingDirectory: '.',
      environment: {},
      timeLimitSeconds: input.timeLimitSeconds ?? 60,
      elevated: false,
      successExitCodes: [0],
    },
    schedule: input.schedule ?? { availableAt: since, mandatoryAt: since, expiresAt: null },
    rerun: input.rerun ?? 'never',
    contentUrls: input.contentUrls,
    issuedAt: new Date(now.getTime() - day).toISOString(),
    expiresAt: new Date(now.getTime() + 365 * day).toISOString(),
  };
}

/** A deployment: a policy body signed by the site key (or `signer`). */
export function buildTestDeployment(pki: Signer, input: PolicyBodyInput): TestDeployment {
  const payload = policyBodyPayload(pki, input);
  const body = signDocument(payload as Parameters<typeof signDocument>[0], [input.signer ?? pki.siteKey]);
  return {
    policyId: payload['policyId'] as string,
    version: payload['version'] as number,
    deploymentId: payload['deploymentId'] as string,
    pkg: input.pkg,
    body,
  };
}

export interface AssignmentsInput {
  clientId: string;
  sequence: number;
  deployments: readonly Pick<TestDeployment, 'policyId' | 'version' | 'body'>[];
  issuedAt?: Date;
  expiresAt?: Date;
  siteCode?: string;
  signer?: SigningKey;
}

/** A client's assignment list signed by the MP key (or `signer`); valid from a minute ago for a day. */
export function buildAssignments(
  pki: Pick<TestSitePki, 'siteCode' | 'mpKey' | 'mpName'>,
  input: AssignmentsInput,
): string {
  const now = Date.now();
  return signDocument(
    {
      kind: 'policy-assignments',
      sequence: input.sequence,
      clientId: input.clientId,
      siteCode: input.siteCode ?? pki.siteCode,
      mpName: pki.mpName,
      assignments: input.deployments.map((d) => ({
        policyId: d.policyId,
        version: d.version,
        hash: d.body.hash,
      })),
      issuedAt: (input.issuedAt ?? new Date(now - 60_000)).toISOString(),
      expiresAt: (input.expiresAt ?? new Date(now + day)).toISOString(),
    },
    [input.signer ?? pki.mpKey],
  ).encoded;
}

/** The same envelope with one payload character changed and the signature kept (tampering). */
export function tamperPayload(encoded: string, from: string, to: string): string {
  const envelope = JSON.parse(encoded) as { payloadType: string; payload: string; signatures: unknown };
  const text = Buffer.from(envelope.payload, 'base64').toString('utf8');
  if (!text.includes(from)) throw new Error(`the payload does not contain ${from}`);
  return JSON.stringify({
    ...envelope,
    payload: Buffer.from(text.replace(from, to)).toString('base64'),
  });
}
