/**
 * Test PKI for the site and its management point: a site hierarchy (root, site key, MP key) with its
 * trust bundle, and test clients that sign registrations and reports exactly as an agent does, plus
 * their tampered, expired, mis-addressed and wrongly signed variants (CONVENTIONS.md: "test doubles
 * are real code").
 */
import {
  createRootDocument,
  encodeEnvelope,
  issueMpCertificate,
  issueSiteCertificate,
  randomId,
  sha256Hex,
  signDocument,
  signEnvelope,
  SigningKey,
  type SignedDocument,
} from '../../src/trust/index.js';
import {
  statusByName,
  type HeartbeatBody,
  type InventoryBody,
  type StatusMessage,
  type StatusName,
  type TrustBundle,
} from '../../src/protocol/index.js';

export const testSiteCode = 'ABC';
const day = 24 * 3600 * 1000;

export interface TestSitePki {
  readonly siteCode: string;
  readonly mpName: string;
  readonly rootKey: SigningKey;
  readonly siteKey: SigningKey;
  readonly mpKey: SigningKey;
  readonly rootDocument: SignedDocument;
  readonly siteCertificate: SignedDocument;
  readonly mpCertificate: SignedDocument;
  readonly trustBundle: TrustBundle;
}

/** A central site's keys and certificates, valid from a day before `now` for a year. */
export function buildSitePki(options: { siteCode?: string; now?: Date; mpUrl?: string } = {}): TestSitePki {
  const siteCode = options.siteCode ?? testSiteCode;
  const now = options.now ?? new Date();
  const issuedAt = new Date(now.getTime() - day).toISOString();
  const expiresAt = new Date(now.getTime() + 365 * day).toISOString();
  const rootKey = SigningKey.generate();
  const siteKey = SigningKey.generate();
  const mpKey = SigningKey.generate();
  const mpName = `${siteCode}-MP1`;
  const rootDocument = createRootDocument(
    {
      version: 1,
      keys: [rootKey],
      threshold: 1,
      issuedAt: new Date(issuedAt),
      expiresAt: new Date(expiresAt),
    },
    [rootKey],
  );
  const siteCertificate = issueSiteCertificate(
    {
      version: 1,
      siteCode,
      siteName: `Site ${siteCode}`,
      siteKey: siteKey.publicRecord(),
      parentSiteCode: null,
      siteType: 'central',
      issuedAt,
      expiresAt,
    },
    [rootKey],
  );
  const mpCertificate = issueMpCertificate(
    {
      version: 1,
      mpName,
      siteCode,
      urls: [options.mpUrl ?? 'http://127.0.0.1:8430'],
      mpKey: mpKey.publicRecord(),
      issuedAt,
      expiresAt,
    },
    [rootKey],
  );
  return {
    siteCode,
    mpName,
    rootKey,
    siteKey,
    mpKey,
    rootDocument,
    siteCertificate,
    mpCertificate,
    trustBundle: {
      siteCode,
      rootChain: [rootDocument.encoded],
      siteCertificates: [siteCertificate.encoded],
      mpCertificate: mpCertificate.encoded,
    },
  };
}

export interface RegistrationOptions {
  siteCode?: string;
  enrolmentToken?: string | null;
  now?: Date;
  /** Validity from `now`; negative with `issuedAgoMs` for an expired registration. */
  validForMs?: number;
  issuedAgoMs?: number;
  /** Signs with this key instead of the client's own (the payload still names the client's key). */
  signer?: SigningKey;
}

export interface ReportOptions {
  siteCode?: string;
  now?: Date;
  messageId?: string;
  sequence?: number;
  validForMs?: number;
  issuedAgoMs?: number;
  /** Signs with this key instead of the client's own. */
  signer?: SigningKey;
  /** Names this client id in the payload instead of the client's own. */
  clientId?: string;
}

export interface SignedReport {
  readonly encoded: string;
  readonly messageId: string;
  readonly sequence: number;
}

/** An agent's identity: a client key that signs its registration and its reports. */
export class TestClient {
  readonly key: SigningKey;
  readonly id: string;
  #sequence = 0;

  constructor(
    readonly hostname: string,
    readonly siteCode = testSiteCode,
  ) {
    this.key = SigningKey.generate();
    this.id = this.key.keyId;
  }

  /** S1: a client-registration signed by the key it registers (proof of possession). */
  registration(options: RegistrationOptions = {}): string {
    const now = options.now ?? new Date();
    const issued = new Date(now.getTime() - (options.issuedAgoMs ?? 0));
    const payload = {
      kind: 'client-registration' as const,
      version: 1 as const,
      clientKey: this.key.publicRecord(),
      siteCode: options.siteCode ?? this.siteCode,
      hostname: this.hostname,
      addresses: ['192.0.2.10'],
      mode: 'secure' as const,
      rootSource: 'pinned' as const,
      enrolmentToken: options.enrolmentToken ?? null,
      nonce: randomId().slice(0, 24),
      issuedAt: issued.toISOString(),
      expiresAt: new Date(issued.getTime() + (options.validForMs ?? 10 * 60 * 1000)).toISOString(),
    };
    return signDocument(payload, [options.signer ?? this.key]).encoded;
  }

  /** S2: a client-report signed by the client key, with a fresh message id and the next sequence. */
  report(
    reportType: 'heartbeat' | 'inventory' | 'status',
    body: unknown,
    options: ReportOptions = {},
  ): SignedReport {
    const now = options.now ?? new Date();
    const issued = new Date(now.getTime() - (options.issuedAgoMs ?? 0));
    this.#sequence += 1;
    const sequence = options.sequence ?? this.#sequence;
    const messageId = options.messageId ?? `m-${randomId().slice(0, 20)}`;
    const encoded = signDocument(
      {
        kind: 'client-report',
        sequence,
        messageId,
        clientId: options.clientId ?? this.id,
        siteCode: options.siteCode ?? this.siteCode,
        reportType,
        body: body as Record<string, unknown>,
        issuedAt: issued.toISOString(),
        expiresAt: new Date(issued.getTime() + (options.validForMs ?? 3600 * 1000)).toISOString(),
      },
      [options.signer ?? this.key],
    ).encoded;
    return { encoded, messageId, sequence };
  }

  heartbeat(options: ReportOptions = {}, changes: Partial<HeartbeatBody> = {}): SignedReport {
    return this.report('heartbeat', heartbeatBody(this.hostname, changes), options);
  }

  status(messages: readonly StatusMessage[], options: ReportOptions = {}): SignedReport {
    return this.report('status', { messages }, options);
  }

  inventory(body: InventoryBody, options: ReportOptions = {}): SignedReport {
    return this.report('inventory', body, options);
  }
}

export function heartbeatBody(hostname: string, changes: Partial<HeartbeatBody> = {}): HeartbeatBody {
  return {
    hostname,
    domain: 'example.test',
    addresses: ['192.0.2.10'],
    agentVersion: '0.1.0',
    platform: 'linux',
    uptimeSeconds: 42,
    ...changes,
  };
}

/** A status message as an agent sends it. */
export function statusMessage(
  name: StatusName,
  deploymentId: string | null,
  occurredAt: Date | string,
  extra: Partial<StatusMessage> = {},
): StatusMessage {
  return {
    statusId: statusByName(name).id,
    deploymentId,
    policyVersion: deploymentId === null ? null : 1,
    occurredAt: typeof occurredAt === 'string' ? occurredAt : occurredAt.toISOString(),
    insertionStrings: [],
    exitCode: null,
    outputTail: null,
    ...extra,
  };
}

type Facts = Record<string, string | number>;
type Software = InventoryBody['software']['set'];

/** The hash an agent gives an inventory snapshot (any stable digest will do for the site). */
export function inventoryHash(facts: Facts, software: Software): string {
  return sha256Hex(JSON.stringify({ facts, software }));
}

/** A full inventory; `hash` is what a later delta names as its base. */
export function fullInventory(facts: Facts, software: Software = []): InventoryBody {
  return {
    full: true,
    baseHash: null,
    hash: inventoryHash(facts, software),
    facts: { set: facts, removed: [] },
    software: { set: software, removed: [] },
  };
}

/** A delta against the snapshot whose hash is `baseHash`. */
export function inventoryDelta(
  baseHash: string,
  change: {
    set?: Facts;
    removed?: string[];
    softwareSet?: Software;
    softwareRemoved?: { name: string; arch: string }[];
  },
): InventoryBody {
  return {
    full: false,
    baseHash,
    hash: sha256Hex(`${baseHash}:${JSON.stringify(change)}`),
    facts: { set: change.set ?? {}, removed: change.removed ?? [] },
    software: { set: change.softwareSet ?? [], removed: change.softwareRemoved ?? [] },
  };
}

/**
 * An envelope whose signature names `claimedKeyId` but was made by `signer`: a forgery attempt
 * (ERR_SIGNATURE_INVALID when the claimed key is trusted).
 */
export function forgedEnvelope(encoded: string, claimedKeyId: string, signer: SigningKey): string {
  const envelope = JSON.parse(encoded) as { payloadType: string; payload: string };
  const resigned = signEnvelope(envelope.payloadType, Buffer.from(envelope.payload, 'base64'), [signer]);
  return encodeEnvelope({
    ...resigned,
    signatures: resigned.signatures.map((s) => ({ keyid: claimedKeyId, sig: s.sig })),
  });
}

/** The same envelope with one payload byte changed and the signature kept (tampering). */
export function tamperedEnvelope(encoded: string): string {
  const envelope = JSON.parse(encoded) as { payloadType: string; payload: string; signatures: unknown };
  const bytes = Buffer.from(envelope.payload, 'base64');
  // One digit of issuedAt changes; the signature no longer covers these bytes.
  const text = bytes
    .toString('utf8')
    .replace(
      /("issuedAt":"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{2})(\d)/,
      (_, head: string, digit: string) => `${head}${(Number(digit) + 1) % 10}`,
    );
  if (text === bytes.toString('utf8')) throw new Error('tamperedEnvelope: no issuedAt to change');
  return JSON.stringify({ ...envelope, payload: Buffer.from(text).toString('base64') });
}

/** A client-report payload under a DSSE envelope without any signature (refused by the schema). */
export function unsignedEnvelope(encoded: string): string {
  const envelope = JSON.parse(encoded) as { payloadType: string; payload: string };
  return JSON.stringify({ payloadType: envelope.payloadType, payload: envelope.payload, signatures: [] });
}
