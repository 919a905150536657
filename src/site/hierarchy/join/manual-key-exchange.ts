import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import {
  createSecretFile,
  fingerprintOf,
  matchesFingerprint,
  randomToken,
  readKeyFile,
  SigningKey,
  writeKeyFile,
  type KeySecret,
} from '../../../trust/index.js';
import { writeFileAtomic } from '../../../platform/atomic-file.js';
import { siteDataLayout } from '../../data-folder/layout.js';
import type { SiteConfig } from '../../data-folder/site-config.js';
import { isLoopbackHost, listenUrl, parseListen } from '../../http/listen-address.js';
import { DataFolderError } from '../../site-errors.js';
import { JoinRefusedError, KeyExchangeFileError } from '../hierarchy-errors.js';
import type { ChildSiteType } from '../hierarchy-schema.js';
import {
  signJoinRequest,
  verifyJoinRequest,
  verifyJoinResult,
  verifyParentIdentity,
} from './join-documents.js';
import { helloAnswer, joinStatus, registerJoin, type JoinAnswer, type JoinSite } from './join-service.js';
import { finishJoin, prepareEmptyFolder, type JoinSiteResult } from './join-site.js';
import { siteTlsKey, siteTlsRequest } from './join-tls.js';

/**
 * Manual key exchange (DESIGN.md section 2): for a site with no network path to its parent at join
 * time. The same three signed documents as a join over the network travel as files, and an
 * administrator at each end compares the other end's key fingerprint out of band instead of a
 * join token:
 *
 * 1. child: `steward site export-key` makes the keys and writes a key request (the join request,
 *    signed by the new site key) and prints that key's fingerprint;
 * 2. parent: `steward site import-key --fingerprint` checks the fingerprint it was told and proof of
 *    possession, and has the key certified (through the sites above, when there are any);
 * 3. parent: `steward site export-key --join ID` writes the answer (the parent's identity signed
 *    over the child's nonce, and the signed certificates) and prints the parent's fingerprint;
 * 4. child: `steward site import-key --fingerprint` checks the parent's key against the fingerprint
 *    it was told and the certificates against the root, then creates the site.
 */
export const keyRequestFormat = 'steward-site-key-request/v1';
export const keyAnswerFormat = 'steward-site-key-answer/v1';

const keyRequestFileSchema = z.strictObject({
  format: z.literal(keyRequestFormat),
  siteCode: z.string(),
  siteType: z.enum(['primary', 'secondary']),
  siteKeyFingerprint: z.string(),
  request: z.string().max(1024 * 1024),
});

const keyAnswerFileSchema = z.strictObject({
  format: z.literal(keyAnswerFormat),
  parentCode: z.string(),
  parentSiteKeyFingerprint: z.string(),
  identity: z.string().max(8 * 1024 * 1024),
  result: z.string().max(8 * 1024 * 1024),
});

const stateSchema = z.strictObject({
  format: z.literal('steward-key-exchange/v1'),
  code: z.string(),
  name: z.string(),
  siteType: z.enum(['primary', 'secondary']),
  parentCode: z.string(),
  parentUrl: z.string().nullable(),
  listen: z.string(),
  publicUrl: z.string().nullable(),
  database: z.string().nullable(),
  approval: z.enum(['manual', 'token', 'automatic', 'directory']),
  nonce: z.string(),
});

const stateFile = (dataDir: string) => join(dataDir, 'key-exchange.json');

/** Which kind of key-exchange file this is (C6: bounded, then parsed). */
export function readKeyExchangeFile(
  text: string,
):
  | { kind: 'request'; file: z.output<typeof keyRequestFileSchema> }
  | { kind: 'answer'; file: z.output<typeof keyAnswerFileSchema> } {
  if (text.length > 16 * 1024 * 1024) throw new KeyExchangeFileError('the key-exchange file is too large');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new KeyExchangeFileError('the key-exchange file is not JSON', { cause });
  }
  const request = keyRequestFileSchema.safeParse(json);
  if (request.success) return { kind: 'request', file: request.data };
  const answer = keyAnswerFileSchema.safeParse(json);
  if (answer.success) return { kind: 'answer', file: answer.data };
  throw new KeyExchangeFileError(`not a key request (${keyRequestFormat}) or answer (${keyAnswerFormat})`);
}

function requireFingerprint(keyId: string, typed: string, whose: string): void {
  if (!matchesFingerprint(keyId, typed)) {
    throw new KeyExchangeFileError(
      `the ${whose} site key in the file is ${fingerprintOf(keyId)}, not ${typed.trim()} as confirmed out of band; ` +
        'nothing was imported',
    );
  }
}

/** Step 1, at the child: keys, and the key request file. */
export async function exportChildKeyRequest(options: {
  dataDir: string;
  code: string;
  name: string;
  siteType: ChildSiteType;
  parentCode: string;
  parentUrl: string | null;
  listen: string;
  publicUrl: string | null;
  database: string | null;
  passphrase: string | null;
  approval: SiteConfig['approval'];
  now: Date;
  keyFileCost?: { N: number; r: number; p: number };
}): Promise<{ file: string; siteKeyFingerprint: string; mpKeyFingerprint: string | null }> {
  const code = options.code.toUpperCase();
  if (!/^[A-Z0-9]{3}$/.test(code))
    throw new DataFolderError('a site code is three letters or digits, like ABC');
  const layout = siteDataLayout(options.dataDir);
  await prepareEmptyFolder(options.dataDir);
  await mkdir(layout.keysDir, { recursive: true, mode: 0o700 });
  let secret: KeySecret;
  if (options.passphrase !== null) secret = { passphrase: options.passphrase };
  else {
    await createSecretFile(layout.keySecret);
    secret = { secretFile: layout.keySecret };
  }
  const keyOptions = options.keyFileCost === undefined ? {} : { cost: options.keyFileCost };
  const siteKey = SigningKey.generate();
  const mpKey = options.siteType === 'primary' ? SigningKey.generate() : null;
  await writeKeyFile(layout.siteKey, siteKey, secret, keyOptions);
  if (mpKey !== null) await writeKeyFile(layout.mpKey, mpKey, secret, keyOptions);
  const tlsKey = await siteTlsKey(layout, secret, keyOptions, false);
  const listen = parseListen(options.listen);
  const url = options.publicUrl ?? listenUrl(listen, isLoopbackHost(listen.host) ? 'http' : 'https');
  const nonce = randomToken(24);
  const request = signJoinRequest(
    {
      tokenId: null,
      proof: null,
      siteCode: code,
      siteName: options.name,
      siteType: options.siteType,
      siteKey: siteKey.publicRecord(),
      mpKey: mpKey?.publicRecord() ?? null,
      url,
      nonce,
      tls: siteTlsRequest(tlsKey, listen.host, options.publicUrl),
    },
    siteKey,
    options.parentCode,
    options.now,
  );
  await writeFileAtomic(
    stateFile(options.dataDir),
    `${JSON.stringify(
      {
        format: 'steward-key-exchange/v1',
        code,
        name: options.name,
        siteType: options.siteType,
        parentCode: options.parentCode,
        parentUrl: options.parentUrl,
        listen: options.listen,
        publicUrl: options.publicUrl,
        database: options.database,
        approval: options.approval,
        nonce,
      },
      null,
      2,
    )}\n`,
    0o600,
  );
  const file = {
    format: keyRequestFormat,
    siteCode: code,
    siteType: options.siteType,
    siteKeyFingerprint: siteKey.fingerprint,
    request,
  };
  return {
    file: `${JSON.stringify(file, null, 2)}\n`,
    siteKeyFingerprint: siteKey.fingerprint,
    mpKeyFingerprint: mpKey?.fingerprint ?? null,
  };
}

/** Step 2, at the parent: the key request, with the child's fingerprint confirmed out of band. */
export async function importChildKeyRequest(
  site: JoinSite,
  fileText: string,
  fingerprint: string,
  now: Date,
): Promise<JoinAnswer> {
  const read = readKeyExchangeFile(fileText);
  if (read.kind !== 'request')
    throw new KeyExchangeFileError('this is a key answer; import it at the child site');
  // Proof of possession, judged when the request was made (the file may have travelled for days).
  const verified = verifyJoinRequest(read.file.request, 'as-issued');
  requireFingerprint(verified.body.siteKey.keyId, fingerprint, 'child');
  return registerJoin(site, { requestText: read.file.request, ...verified }, 'manual', now);
}

/** Step 3, at the parent: the answer file for a certified join. */
export async function exportParentAnswer(site: JoinSite, joinId: string, now: Date): Promise<string> {
  const answer = await joinStatus(site, joinId, now);
  if (answer.state === 'pending' || answer.result === null) {
    throw new JoinRefusedError(`join ${joinId} is not certified yet; export the answer once it is`);
  }
  const join = await site.db
    .selectFrom('hierarchy_joins')
    .select(['request', 'child_code'])
    .where('id', '=', joinId)
    .executeTakeFirstOrThrow();
  const { body } = verifyJoinRequest(join.request, 'as-issued');
  const { identity } = await helloAnswer(site, { nonce: body.nonce, childCode: join.child_code }, now);
  const file = {
    format: keyAnswerFormat,
    parentCode: site.code,
    parentSiteKeyFingerprint: site.siteKey.fingerprint,
    identity,
    result: answer.result,
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Step 4, at the child: the answer, with the parent's fingerprint confirmed out of band. */
export async function importParentAnswer(options: {
  dataDir: string;
  fileText: string;
  fingerprint: string;
  passphrase: string | null;
  rootPin: string | null;
  now: Date;
}): Promise<JoinSiteResult> {
  let stateText: string;
  try {
    stateText = await readFile(stateFile(options.dataDir), 'utf8');
  } catch (cause) {
    throw new DataFolderError(`${options.dataDir} holds no key request made by steward site export-key`, {
      cause,
    });
  }
  const state = stateSchema.parse(JSON.parse(stateText));
  const read = readKeyExchangeFile(options.fileText);
  if (read.kind !== 'answer')
    throw new KeyExchangeFileError('this is a key request; import it at the parent site');
  const now = options.now;
  const parent = verifyParentIdentity(
    read.file.identity,
    {
      parentCode: state.parentCode,
      parentSiteKeyId: null,
      childCode: state.code,
      nonce: state.nonce,
      rootPin: options.rootPin,
    },
    now,
  );
  requireFingerprint(parent.key.keyId, options.fingerprint, 'parent');
  const result = verifyJoinResult(read.file.result, parent.key, state.code, now);
  if (result.state === 'refused' || result.siteCertificate === null) {
    throw new JoinRefusedError(`the hierarchy refused this site: ${result.error ?? 'no reason given'}`);
  }
  const layout = siteDataLayout(options.dataDir);
  const secret: KeySecret =
    options.passphrase !== null ? { passphrase: options.passphrase } : { secretFile: layout.keySecret };
  const siteKey = await readKeyFile(layout.siteKey, secret);
  const mpKey = state.siteType === 'primary' ? await readKeyFile(layout.mpKey, secret) : null;
  const listen = parseListen(state.listen);
  const url = state.publicUrl ?? listenUrl(listen, isLoopbackHost(listen.host) ? 'http' : 'https');
  const joined = await finishJoin(
    {
      dataDir: options.dataDir,
      code: state.code,
      name: state.name,
      listen: state.listen,
      publicUrl: state.publicUrl,
      database: state.database,
      passphrase: options.passphrase,
      approval: state.approval,
      parentUrl: state.parentUrl,
      joinToken: null,
      siteType: state.siteType,
      rootPin: options.rootPin,
      waitMs: 0,
      now: () => now,
    },
    {
      code: state.code,
      siteType: state.siteType,
      url,
      siteKey,
      mpKey,
      state: {
        format: 'steward-join/v1',
        code: state.code,
        parentUrl: (state.parentUrl ?? parent.body.url).replace(/\/+$/, ''),
        joinId: result.joinId,
        parentCode: state.parentCode,
        parentSiteKey: { keyId: parent.key.keyId, publicKey: parent.certificate.payload.siteKey.publicKey },
        rootChain: parent.body.rootChain,
        siteType: state.siteType,
        keyExchange: 'manual',
      },
      result,
      layout,
      statePath: join(options.dataDir, 'join-state.json'),
      now,
    },
  );
  await rm(stateFile(options.dataDir), { force: true });
  return joined;
}
