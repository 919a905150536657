/** The admin API's answers as the console reads them (src/admin/api/*-routes.ts; dates are ISO text). */

export type ClientState = 'pending' | 'approved' | 'revoked';

export interface Page<T, C = string> {
  items: T[];
  next: C | null;
}

export interface SiteView {
  code: string;
  name: string;
  type: 'central' | 'primary' | 'secondary';
  url: string;
  version: string;
  approval: 'manual' | 'token' | 'automatic';
  clients: Record<ClientState, number>;
  siteSystems: {
    name: string;
    role: string;
    urls: string[];
    embedded: boolean;
    health: 'ok' | 'degraded' | 'down' | 'unknown';
    keyFingerprint: string | null;
    lastSeenAt: string | null;
  }[];
}

export interface TrustView {
  root: {
    version: number;
    threshold: number;
    keys: { keyId: string; fingerprint: string }[];
    issuedAt: string;
    expiresAt: string;
  }[];
  certificates: {
    kind: string;
    subject: string;
    site_code: string;
    key_id: string;
    serial: number;
    issued_at: string;
    expires_at: string;
    revoked_at: string | null;
    keyFingerprint: string;
  }[];
}

/** GET /audit/security (src/audit/run-audit.ts; docs/audit.md). */
export interface SecurityAudit {
  site: { code: string; name: string; type: 'central' | 'primary' | 'secondary'; url: string };
  checkedAt: string;
  summary: { pass: number; warn: number; fail: number };
  passed: boolean;
  checks: {
    id: string;
    practice: string;
    result: 'pass' | 'warn' | 'fail';
    evidence: string;
    fix: string;
  }[];
}

export interface Client {
  id: string;
  publicKey: string;
  siteCode: string;
  hostname: string;
  state: ClientState;
  mode: string;
  rootSource: string;
  registeredAt: string;
  approvedAt: string | null;
  revokedAt: string | null;
  lastSeenAt: string | null;
}

export interface ClientDetail {
  client: Client;
  discovery: {
    hostname: string;
    domain: string | null;
    addresses: string[];
    agent_version: string | null;
    updated_at: string;
  } | null;
  inventory: {
    facts: Record<string, string>;
    software: { name: string; version: string; arch: string; source: string }[];
  };
  statusMessages: {
    message_id: string;
    status_id: number;
    severity: Severity;
    deployment_id: string | null;
    occurred_at: string;
    insertion_strings: string[];
  }[];
  collections: string[];
}

export interface Collection {
  id: string;
  name: string;
  description: string;
  rule: string | null;
  memberCount: number;
  createdAt: string;
  updatedAt: string;
  evaluatedAt: string | null;
}

export interface CollectionMember {
  clientId: string;
  hostname: string;
  state: string;
  direct: boolean;
}

export interface RulePreview {
  count: number;
  sample: { id: string; hostname: string; state: string }[];
}

export interface Program {
  name: string;
  commandLine: string;
  workingDirectory: string;
  environment: Record<string, string>;
  timeLimitSeconds: number;
  elevated: boolean;
  successExitCodes: number[];
}

export interface PackageVersion {
  packageId: string;
  name: string;
  version: string;
  manifestHash: string;
  totalSize: number;
  fileCount: number;
  createdAt: string;
  programs: Program[];
}

export interface PackageVersionDetail extends PackageVersion {
  manifest: string;
}

export interface Job<R = unknown> {
  id: string;
  kind: string;
  state: 'running' | 'succeeded' | 'failed';
  progress: { done: number; total: number; unit: string } | null;
  result: R | null;
  error: { code: string; message: string } | null;
  startedAt: string;
  finishedAt: string | null;
}

export interface DeploymentSummary {
  targeted: number;
  received: number;
  downloading: number;
  running: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  notYetReported: number;
  updatedAt: string;
}

export interface Deployment {
  id: string;
  name: string;
  packageId: string;
  packageVersion: string;
  programName: string;
  collectionId: string;
  availableAt: string;
  mandatoryAt: string | null;
  expiresAt: string | null;
  rerun: 'never' | 'always' | 'if-failed' | 'if-succeeded';
  state: 'active' | 'disabled';
  policyId: string;
  policyVersion: number;
  createdAt: string;
  summary: DeploymentSummary;
}

export interface DeploymentClientState {
  clientId: string;
  hostname: string;
  state: string;
  statusId: number | null;
  exitCode: number | null;
  detail: string;
  updatedAt: string;
}

export type Severity = 'info' | 'warning' | 'error';

export interface StatusMessage {
  id: number;
  message_id: string;
  client_id: string | null;
  machine: string;
  deployment_id: string | null;
  status_id: number;
  severity: Severity;
  component: string;
  occurred_at: string;
  received_at: string;
  insertion_strings: string[];
  text: string | null;
}
