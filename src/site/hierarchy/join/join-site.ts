import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import {
  createSecretFile,
  envelopePayloadBytes,
  fingerprintOf,
  followRotations,
  joinProof,
  parseEnvelope,
  parsePayload,
  publicKeyFromRecord,
  randomToken,
  readKeyFile,
  readTlsKeyFile,
  sha256Hex,
  SigningKey,
  trustRootOnFirstUse,
  verifyMpCertificate,
  verifySiteCertificate,
  writeKeyFile,
  type KeySecret,
  type SignedDocument,
  type TlsClientOptions,
} from '../../../trust/index.js';
import { appendAudit } from '../../../admin/audit-log/index.js';
import { createAccount, issueApiToken } from '../../../admin/identity/index.js';
import { writeFileAtomic } from '../../../platform/atomic-file.js';
import { RemoteError } from '../../../protocol/index.js';
import { createEnrolmentToken } from '../../clients/enrolment-tokens.js';
import { siteDataLayout } from '../../data-folder/layout.js';
import { writeSiteConfig, type SiteConfig } from '../../data-folder/site-config.js';
import { databaseLocation, openSiteDatabase, redactUrl } from '../../database/open.js';
import { isLoopbackHost, listenUrl, parseListen } from '../../http/listen-address.js';
import { registerEmbeddedSiteSystems } from '../../site-systems/site-systems.js';
import { DataFolderError } from '../../site-errors.js';
import { JoinRefusedError, JoinTimeoutError } from '../hierarchy-errors.js';
import type { ChildSiteType } from '../hierarchy-schema.js';
import { describeAnswer, siteFetch } from '../http-client.js';
import { createLink } from '../links/link-store.js';
import { saveSite } from '../site-trust.js';
import { saveCertificate, saveRootDocument } from '../trust-store.js';
import { hierarchyPaths } from '../hierarchy-paths.js';
import {
  signJoinRequest,
  verifyJoinResult,
  verifyParentIdentity,
  type JoinResultBody,
} from './join-documents.js';
import { decodeJoinToken, joinProofKey } from './join-token.js';
import {
  checkParentCa,
  discoverParentTls,
  parentTlsOptions,
  parentTlsSchema,
  siteTlsKey,
  siteTlsRequest,
  storeJoinTls,
} from './join-tls.js';

export interface JoinSiteOptions {
  dataDir: string;
  code: string;
  name: string;
  listen: string;
  publicUrl: string | null;
  database: string | null;
  passphrase: string | null;
  approval: SiteConfig['approval'];
  /** The parent's URL (defaults to the one in the token). */
  parentUrl: string | null;
  /** The join token from `steward site join-token` at the parent; null only for automatic key exchange. */
  joinToken: string | null;
  /** Primary or secondary; with a token it must match the token's. */
  siteType: ChildSiteType | null;
  /** The root key fingerprint, when the administrator has it: the root offered must contain it. */
  rootPin: string | null;
  /** How long to wait for certification (relayed through intermediate sites). */
  waitMs: number;
  now: () => Date;
  onProgress?: (line: string) => void;
  keyFileCost?: { N: number; r: number; p: number };
}

export interface JoinSiteResult {
  siteCode: string;
  siteType: ChildSiteType;
  parentCode: string;
  parentUrl: string;
  dataDir: string;
  url: string;
  rootFingerprint: string;
  siteKeyFingerprint: string;
  mpKeyFingerprint: string | null;
  parentSiteKeyFingerprint: string;
  keyExchange: 'join-token' | 'automatic' | 'manual';
  credentialsPath: string;
  enrolmentToken: string | null;
  database: string;
}

const joinStateSchema = z.strictObject({
  format: z.literal('steward-join/v1'),
  code: z.string(),
  parentUrl: z.string(),
  joinId: z.string(),
  parentCode: z.string(),
  parentSiteKey: z.object({ keyId: z.string(), publicKey: z.string() }),
  rootChain: z.array(z.string()),
  siteType: z.enum(['primary', 'secondary']),
  keyExchange: z.enum(['join-token', 'automatic', 'manual']),
  /** An https parent: its CA as first read and the server key it presented (join-tls.ts). */
  parentTls: parentTlsSchema.optional(),
});
export type JoinState = z.output<typeof joinStateSchema>;

/**
 * `steward site init --parent URL --join-token TOKEN` (DESIGN.md section 2, "Secure key exchange
 * between sites"). The new site makes its keys, then, before it sends anything of its own, checks
 * the parent: the parent signs this site's fresh nonce with the site key the token names. Then it
 * sends its join request, signed by its new site key and carrying a proof that binds the token's
 * secret to these keys, and waits while the central site certifies them with the root (relayed
 * through intermediate primaries). The certificates that come back are checked against the root
 * before anything is written. An interrupted wait resumes when the same command runs again.
 */
export async function joinParentSite(options: JoinSiteOptions): Promise<JoinSiteResult> {
  const code = options.code.toUpperCase();
  if (!/^[A-Z0-9]{3}$/.test(code))
    throw new DataFolderError('a site code is three letters or digits, like ABC');
  const token = options.joinToken === null ? null : decodeJoinToken(options.joinToken);
  const siteType: ChildSiteType = token?.siteType ?? options.siteType ?? 'primary';
  if (token !== null && options.siteType !== null && options.siteType !== token.siteType) {
    throw new DataFolderError(
      `the join token is for a ${token.siteType} site, not a ${options.siteType} site`,
    );
  }
  const parentUrl = (options.parentUrl ?? token?.parentUrl ?? '').replace(/\/+$/, '');
  if (parentUrl === '') throw new DataFolderError('say which parent: --parent URL');
  const listen = parseListen(options.listen);
  const url = options.publicUrl ?? listenUrl(listen, isLoopbackHost(listen.host) ? 'http' : 'https');
  const layout = siteDataLayout(options.dataDir);
  const statePath = join(options.dataDir, 'join-state.json');
  const progress = options.onProgress ?? (() => undefined);

  const resumed = await readJoinState(statePath, code);
  if (resumed === undefined) await prepareEmptyFolder(options.dataDir);
  await mkdir(layout.keysDir, { recursive: true, mode: 0o700 });
  let secret: KeySecret;
  if (options.passphrase !== null) secret = { passphrase: options.passphrase };
  else {
    if (resumed === undefined) await createSecretFile(layout.keySecret);
    secret = { secretFile: layout.keySecret };
  }
  const keyOptions = options.keyFileCost === undefined ? {} : { cost: options.keyFileCost };
  let siteKey: SigningKey;
  let mpKey: SigningKey | null;
  if (resumed === undefined) {
    siteKey = SigningKey.generate();
    mpKey = siteType === 'primary' ? SigningKey.generate() : null;
    await writeKeyFile(layout.siteKey, siteKey, secret, keyOptions);
    if (mpKey !== null) await writeKeyFile(layout.mpKey, mpKey, secret, keyOptions);
  } else {
    siteKey = await readKeyFile(layout.siteKey, secret);
    mpKey = resumed.siteType === 'primary' ? await readKeyFile(layout.mpKey, secret) : null;
  }
  const tlsKey = await siteTlsKey(layout, secret, keyOptions, resumed !== undefined);

  let state: JoinState;
  let answer: { joinId: string; state: string; result: string | null };
  if (resumed === undefined) {
    // 1. The parent proves it holds the key the token names, over our nonce, before we send anything.
    const nonce = randomToken(24);
    progress(`checking the parent at ${parentUrl}`);
    const parentTls = await discoverParentTls(parentUrl);
    const tls = parentTlsOptions(parentTls);
    const hello = await post(`${parentUrl}${hierarchyPaths.hello}`, { nonce, childCode: code }, tls);
    const identity = z.object({ identity: z.string() }).parse(hello).identity;
    const parent = verifyParentIdentity(
      identity,
      {
        parentCode: token?.parentCode ?? null,
        parentSiteKeyId: token?.parentSiteKeyId ?? null,
        childCode: code,
        nonce,
        rootPin: options.rootPin,
      },
      options.now(),
    );
    progress(`parent ${parent.body.siteCode} holds site key ${parent.key.fingerprint}`);
    checkParentCa(parentTls, parent.root, options.now());
    // 2. The join request: signed by our new site key, carrying the proof bound to our keys.
    const request = signJoinRequest(
      {
        tokenId: token?.tokenId ?? null,
        proof:
          token === null
            ? null
            : joinProof(joinProofKey(token.secret), {
                tokenId: token.tokenId,
                siteCode: code,
                siteType,
                siteKeyId: siteKey.keyId,
                mpKeyId: mpKey?.keyId ?? null,
              }),
        siteCode: code,
        siteName: options.name,
        siteType,
        siteKey: siteKey.publicRecord(),
        mpKey: mpKey?.publicRecord() ?? null,
        url,
        nonce,
        tls: siteTlsRequest(tlsKey, listen.host, options.publicUrl),
      },
      siteKey,
      parent.body.siteCode,
      options.now(),
    );
    answer = joinAnswerSchema.parse(await post(`${parentUrl}${hierarchyPaths.join}`, { request }, tls));
    state = {
      format: 'steward-join/v1',
      code,
      parentUrl,
      joinId: answer.joinId,
      parentCode: parent.body.siteCode,
      parentSiteKey: { keyId: parent.key.keyId, publicKey: parent.certificate.payload.siteKey.publicKey },
      rootChain: parent.body.rootChain,
      siteType,
      keyExchange: token === null ? 'automatic' : 'join-token',
      ...(parentTls === undefined ? {} : { parentTls }),
    };
    await writeFileAtomic(statePath, `${JSON.stringify(state, null, 2)}\n`, 0o600);
  } else {
    state = resumed;
    progress(`resuming join ${state.joinId} with ${state.parentCode}`);
    answer = { joinId: state.joinId, state: 'pending', result: null };
  }

  // 3. Wait for the certificates (the central site issues them; intermediate sites relay them).
  const deadline = Date.now() + options.waitMs;
  while (answer.state === 'pending') {
    if (Date.now() > deadline) {
      throw new JoinTimeoutError(
        `the parent has not had the keys certified yet (join ${state.joinId}); run the same command again to keep waiting`,
      );
    }
    progress('waiting for the central site to certify this site');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    answer = joinAnswerSchema.parse(
      await get(
        `${state.parentUrl}${hierarchyPaths.joinStatus(state.joinId)}`,
        parentTlsOptions(state.parentTls),
      ),
    );
  }
  if (answer.result === null) throw new JoinRefusedError('the parent settled the join without a result');
  // The parent's key was checked against the token at the start; the result must be signed by it.
  const parentKey = publicKeyFromRecord(state.parentSiteKey);
  const now = options.now();
  const result = verifyJoinResult(answer.result, parentKey, code, now);
  if (result.state === 'refused' || result.siteCertificate === null) {
    throw new JoinRefusedError(`the hierarchy refused this site: ${result.error ?? 'no reason given'}`);
  }
  return finishJoin(options, { code, siteType, url, siteKey, mpKey, state, result, layout, statePath, now });
}

const joinAnswerSchema = z.object({
  joinId: z.string().regex(/^[0-9a-f]{32}$/),
  state: z.enum(['pending', 'certified', 'refused']),
  result: z.string().nullable(),
});

export async function finishJoin(
  options: JoinSiteOptions,
  input: {
    code: string;
    siteType: ChildSiteType;
    url: string;
    siteKey: SigningKey;
    mpKey: SigningKey | null;
    state: JoinState;
    result: JoinResultBody;
    layout: ReturnType<typeof siteDataLayout>;
    statePath: string;
    now: Date;
  },
): Promise<JoinSiteResult> {
  const { code, siteType, url, siteKey, mpKey, state, result, layout, now } = input;
  // C1: the root chain must follow from the root the parent showed at the start.
  const firstRoot = trustRootOnFirstUse(state.rootChain, now);
  const root = followRotations(firstRoot, result.rootChain, now);
  const own = verifySiteCertificate(result.siteCertificate ?? '', root, now, code);
  if (
    own.key.keyId !== siteKey.keyId ||
    own.payload.parentSiteCode !== state.parentCode ||
    own.payload.siteType !== siteType
  ) {
    throw new JoinRefusedError('the certificate issued does not certify this site key, parent and type');
  }
  const mpCertificate =
    mpKey === null || result.mpCertificate === null
      ? null
      : verifyMpCertificate(result.mpCertificate, root, now, code);
  if (mpKey !== null && mpCertificate?.key.keyId !== mpKey.keyId) {
    throw new JoinRefusedError('no certificate for this site\u2019s management point key came back');
  }
  const lineage = result.certificates.map((envelope) => ({
    envelope,
    verified: verifySiteCertificate(envelope, root, now),
  }));
  const parentCertificate = lineage.find((c) => c.verified.payload.siteCode === state.parentCode);
  if (parentCertificate === undefined || parentCertificate.verified.key.keyId !== state.parentSiteKey.keyId) {
    throw new JoinRefusedError(
      'the parent certificate in the join result is not the one checked at the start',
    );
  }

  const location = databaseLocation(options.database ?? undefined, layout.database);
  const database = await openSiteDatabase(location);
  const adminPassword = randomToken(18);
  let apiToken: string;
  let enrolment: { token: string; expiresAt: Date } | null = null;
  try {
    const db = database.db;
    await db
      .insertInto('sites')
      .values({
        code,
        name: options.name,
        site_type: siteType,
        parent_code: state.parentCode,
        site_key_id: siteKey.keyId,
        certificate: result.siteCertificate,
        is_local: true,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('code').doNothing())
      .execute();
    const chain = [...new Set([...state.rootChain, ...result.rootChain])];
    for (const envelope of chain) {
      const parsed = parseEnvelope(envelope);
      const bytes = envelopePayloadBytes(parsed);
      const payload = parsePayload('root', bytes);
      if (payload.version > root.version) continue;
      await saveRootDocument(db, signed(envelope), payload.version, payload.expiresAt);
    }
    await saveCertificate(db, {
      kind: 'site-certificate',
      subject: code,
      siteCode: code,
      keyId: siteKey.keyId,
      serial: own.payload.version,
      issuedAt: own.payload.issuedAt,
      expiresAt: own.payload.expiresAt,
      document: signed(result.siteCertificate ?? ''),
    });
    if (mpCertificate !== null && result.mpCertificate !== null) {
      await saveCertificate(db, {
        kind: 'mp-certificate',
        subject: mpCertificate.payload.mpName,
        siteCode: code,
        keyId: mpCertificate.key.keyId,
        serial: mpCertificate.payload.version,
        issuedAt: mpCertificate.payload.issuedAt,
        expiresAt: mpCertificate.payload.expiresAt,
        document: signed(result.mpCertificate),
      });
      await registerEmbeddedSiteSystems(
        db,
        {
          siteCode: code,
          url,
          mpName: mpCertificate.payload.mpName,
          mpKeyId: mpCertificate.key.keyId,
          mpCertificate: result.mpCertificate,
        },
        now,
      );
    }
    await storeJoinTls(db, layout, {
      result,
      root,
      code,
      key: await readTlsKeyFile(layout.tlsServerKey, keySecretOf(options, layout)).catch(() => undefined),
      now,
    });
    for (const { envelope, verified } of lineage) {
      await saveSite(
        db,
        {
          code: verified.payload.siteCode,
          name: verified.payload.siteName,
          siteType: verified.payload.siteType,
          parentCode: verified.payload.parentSiteCode,
          siteKeyId: verified.key.keyId,
          certificate: envelope,
          ancestor: true,
        },
        now,
      );
    }
    await createLink(
      db,
      {
        siteCode: state.parentCode,
        direction: 'parent',
        siteType: result.parent.siteType,
        url: state.parentUrl,
      },
      now,
    );
    const admin = await createAccount(
      db,
      { name: 'admin', password: adminPassword, administrator: true },
      now,
    );
    apiToken = (await issueApiToken(db, admin.id, { name: 'site init' }, now)).token;
    if (siteType === 'primary') {
      enrolment = await createEnrolmentToken(db, {
        description: 'created by site init',
        uses: 10_000,
        expiresAt: new Date(now.getTime() + 30 * 24 * 3600 * 1000),
        now,
      });
    }
    await appendAudit(
      db,
      {
        actor: 'site init',
        action: 'site.join',
        objectClass: 'site',
        objectId: code,
        details: {
          parent: state.parentCode,
          siteType,
          siteKeyId: siteKey.keyId,
          mpKeyId: mpKey?.keyId ?? null,
          keyExchange: state.keyExchange,
        },
      },
      now,
    );
  } finally {
    await database.close();
  }
  await writeSiteConfig(layout.config, {
    format: 'steward-site/v1',
    code,
    name: options.name,
    siteType,
    parentUrl: state.parentUrl,
    listen: options.listen,
    publicUrl: options.publicUrl,
    database: options.database,
    keyProtection: options.passphrase === null ? 'secret-file' : 'passphrase',
    rootKeyCount: 0,
    approval: options.approval,
    createdAt: now.toISOString(),
  });
  await writeFileAtomic(
    layout.credentials,
    `${JSON.stringify({ account: 'admin', password: adminPassword, token: apiToken, url }, null, 2)}\n`,
    0o600,
  );
  await rm(input.statePath, { force: true });
  const rootKeyId = [...root.keys.keys()][0] ?? '';
  return {
    siteCode: code,
    siteType,
    parentCode: state.parentCode,
    parentUrl: state.parentUrl,
    dataDir: options.dataDir,
    url,
    rootFingerprint: fingerprintOf(rootKeyId),
    siteKeyFingerprint: siteKey.fingerprint,
    mpKeyFingerprint: mpKey?.fingerprint ?? null,
    parentSiteKeyFingerprint: fingerprintOf(state.parentSiteKey.keyId),
    keyExchange: state.keyExchange,
    credentialsPath: layout.credentials,
    enrolmentToken: enrolment?.token ?? null,
    database: location.kind === 'pglite' ? 'embedded (PGlite)' : redactUrl(location.url),
  };
}

function keySecretOf(options: JoinSiteOptions, layout: ReturnType<typeof siteDataLayout>): KeySecret {
  return options.passphrase !== null ? { passphrase: options.passphrase } : { secretFile: layout.keySecret };
}

function signed(envelope: string): SignedDocument {
  const parsed = parseEnvelope(envelope);
  const payloadBytes = envelopePayloadBytes(parsed);
  return { envelope: parsed, encoded: envelope, payloadBytes, hash: sha256Hex(payloadBytes) };
}

async function post(url: string, body: unknown, tls: TlsClientOptions | undefined): Promise<unknown> {
  const answer = await siteFetch(url, { body, timeoutMs: 60_000, tls }, 8 * 1024 * 1024);
  return readAnswer(answer);
}

async function get(url: string, tls: TlsClientOptions | undefined): Promise<unknown> {
  return readAnswer(await siteFetch(url, { timeoutMs: 60_000, tls }, 8 * 1024 * 1024));
}

function readAnswer(answer: Awaited<ReturnType<typeof siteFetch>>): unknown {
  if (answer.status >= 200 && answer.status < 300) return JSON.parse(answer.text) as unknown;
  const { code, message } = describeAnswer(answer);
  throw new RemoteError(code, message, answer.status);
}

async function readJoinState(path: string, code: string): Promise<JoinState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = joinStateSchema.safeParse(JSON.parse(text));
  if (!parsed.success || parsed.data.code !== code) {
    throw new DataFolderError(`${path} belongs to another join; use a new, empty folder`);
  }
  return parsed.data;
}

export async function prepareEmptyFolder(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  if (!info.isDirectory()) throw new DataFolderError(`${dir} is not a folder`);
  const entries = await readdir(dir);
  if (entries.length > 0) {
    throw new DataFolderError(`${dir} is not empty; a site is initialised in a new or empty folder`);
  }
}
