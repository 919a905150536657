/**
 * A legacy client's list of deployments (docs/legacy-client.md, "The list"): plain lines a POSIX
 * shell reads with `read`, signed by the site key over the DSSE PAE of the exact bytes so that
 * `openssl pkeyutl -verify -rawin` can check it against the site key pinned at install.
 *
 * The site does for the legacy client what an agent does for itself: it opens each policy body
 * with certified site keys and checks its hash against the assignment (C4), checks that the content
 * library holds the manifest the body names (C5), and streams the package's tar through the
 * manifest's hashes to compute the tar's SHA-256. Only then is a deployment written into the list.
 */
import { statusByName } from '../../protocol/index.js';
import type { SiteDb } from '../../site/database/site-db.js';
import { isStewardError, openDocument, sha256Hex, signEnvelope, type SigningKey } from '../../trust/index.js';
import type { PolicyBodyPayload } from '../../trust/index.js';
import { certifiedSiteKeys } from '../../site/hierarchy/content/certified-keys.js';
import { policyBodyEnvelope, policyTargetsOf } from '../../site/policy/policy-targets.js';
import { applyStatusMessages } from '../../site/status/status-store.js';
import { PackageCache } from '../distribution-point/package-cache.js';
import type { LegacyClientIdentity } from './legacy-store.js';
import type { TarDigests } from './legacy-tar.js';

/** The DSSE payload type under which list bytes are signed (domain separation from every document). */
export const legacyListPayloadType = 'application/vnd.steward.legacy-list+text';
export const legacyListFormat = 'steward-legacy-list/v1';
/** A list is good for an hour: a replayed old list stops working soon (freeze), rollback never. */
export const legacyListValidityMs = 3600 * 1000;

const shellSafeWord = /^[A-Za-z0-9][A-Za-z0-9._:,-]*$/;
const shellSafePath = /^(\.|[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*)$/;

export interface LegacyDeployment {
  deploymentId: string;
  policyVersion: number;
  packageId: string;
  packageVersion: string;
  tarSha256: string;
  tarSize: number;
  timeLimitSeconds: number;
  successExitCodes: readonly number[];
  rerun: PolicyBodyPayload['rerun'];
  workingDirectory: string;
  commandLine: string;
}

/** Why a legacy client cannot run a program faithfully, or undefined when it can. */
export function unsupportedBecause(body: PolicyBodyPayload): string | undefined {
  const program = body.program;
  if (Object.keys(program.environment).length > 0) return 'the program sets environment variables';
  if (!shellSafePath.test(program.workingDirectory)) return 'the working directory has unusual characters';
  if (!/^[^\s\p{Cc}](.*[^\s\p{Cc}])?$/u.test(program.commandLine) || /\p{Cc}/u.test(program.commandLine)) {
    return 'the command line is not one line of printable text';
  }
  if (
    ![body.deploymentId, body.package.packageId, body.package.version].every((w) => shellSafeWord.test(w))
  ) {
    return 'an id has characters the legacy list cannot carry';
  }
  return undefined;
}

/** The list's lines, without the signature line. */
export function formatLegacyList(input: {
  siteCode: string;
  clientId: string;
  signerKeyId: string;
  sequence: number;
  issuedAt: Date;
  deployments: readonly LegacyDeployment[];
}): string {
  const expires = Math.floor((input.issuedAt.getTime() + legacyListValidityMs) / 1000);
  const lines = [
    legacyListFormat,
    `site ${input.siteCode}`,
    `client ${input.clientId}`,
    `signer ${input.signerKeyId}`,
    `sequence ${input.sequence}`,
    `issued ${input.issuedAt.toISOString()}`,
    `expires-epoch ${expires}`,
    ...input.deployments.map((d) =>
      [
        'deployment',
        d.deploymentId,
        d.policyVersion,
        d.packageId,
        d.packageVersion,
        d.tarSha256,
        d.tarSize,
        d.timeLimitSeconds,
        d.successExitCodes.join(','),
        d.rerun,
        d.workingDirectory,
        d.commandLine,
      ].join(' '),
    ),
    'end',
  ];
  return `${lines.join('\n')}\n`;
}

/** The answer body: the list, then `signature <base64>` over PAE(legacyListPayloadType, list). */
export function signLegacyList(list: string, siteKey: SigningKey): string {
  const envelope = signEnvelope(legacyListPayloadType, new TextEncoder().encode(list), [siteKey]);
  const signature = envelope.signatures[0]?.sig;
  if (signature === undefined) throw new Error('the list was not signed');
  return `${list}signature ${signature}\n`;
}

export interface LegacyListSources {
  db: SiteDb;
  libraryDir: string;
  packages: PackageCache;
  tars: TarDigests;
}

/**
 * The deployments due for a legacy client now: mandatory, past their mandatory time, unexpired,
 * verified as above. A deployment it cannot run is reported once as program-not-started (10071)
 * with the reason, so the administrator sees it instead of a client that stays "targeted".
 */
export async function legacyDeploymentsFor(
  sources: LegacyListSources,
  client: LegacyClientIdentity,
  now: Date,
): Promise<LegacyDeployment[]> {
  const { db } = sources;
  const targets = await policyTargetsOf(db, client.clientId, now);
  if (targets.length === 0) return [];
  const siteKeys = await certifiedSiteKeys(db, now);
  const deployments: LegacyDeployment[] = [];
  const refusals: { body: PolicyBodyPayload; reason: string }[] = [];
  for (const target of targets) {
    const envelope = await policyBodyEnvelope(db, target.policyId, target.version);
    if (envelope === undefined) continue;
    // C4 on the client's behalf: a certified site key signed it, and it is the body assigned. A
    // body that fails is left out, as an agent would refuse it (the site renews expiring bodies).
    let opened;
    try {
      opened = openDocument('policy-body', envelope, siteKeys, 1, now);
    } catch (error) {
      if (isStewardError(error)) continue;
      throw error;
    }
    if (opened.hash !== target.hash) continue;
    const body = opened.payload;
    const { mandatoryAt, expiresAt } = body.schedule;
    if (mandatoryAt === null || Date.parse(mandatoryAt) > now.getTime()) continue;
    if (expiresAt !== null && Date.parse(expiresAt) <= now.getTime()) continue;
    const reason = unsupportedBecause(body);
    if (reason !== undefined) {
      refusals.push({ body, reason });
      continue;
    }
    // C5 on the client's behalf: the library holds exactly the manifest the body names.
    let pkg;
    let tar;
    try {
      pkg = await sources.packages.get(body.package.packageId, body.package.version);
      tar = pkg.manifestHash === body.package.manifestHash ? await sources.tars.of(pkg) : undefined;
    } catch (error) {
      // Not in the library yet (a secondary site still pulling it) or damaged: listed once it is whole.
      if (isStewardError(error)) continue;
      throw error;
    }
    if (tar === undefined) {
      refusals.push({ body, reason: 'the content library holds another manifest than the deployment names' });
      continue;
    }
    deployments.push({
      deploymentId: body.deploymentId,
      policyVersion: body.version,
      packageId: body.package.packageId,
      packageVersion: body.package.version,
      tarSha256: tar.sha256,
      tarSize: tar.size,
      timeLimitSeconds: body.program.timeLimitSeconds,
      successExitCodes: body.program.successExitCodes,
      rerun: body.rerun,
      workingDirectory: body.program.workingDirectory,
      commandLine: body.program.commandLine,
    });
  }
  await reportRefusals(db, client, refusals, now);
  return deployments;
}

async function reportRefusals(
  db: SiteDb,
  client: LegacyClientIdentity,
  refusals: readonly { body: PolicyBodyPayload; reason: string }[],
  now: Date,
): Promise<void> {
  if (refusals.length === 0) return;
  const notStarted = statusByName('program-not-started');
  await applyStatusMessages(
    db,
    client.siteCode,
    refusals.map(({ body, reason }) => ({
      // The same refusal is one message, however often the client asks.
      messageId: `legacy-${sha256Hex(`${client.clientId}\n${body.policyId}\n${body.version}`).slice(0, 48)}`,
      clientId: client.clientId,
      machine: client.hostname,
      message: {
        statusId: notStarted.id,
        deploymentId: body.deploymentId,
        policyVersion: body.version,
        occurredAt: now.toISOString(),
        insertionStrings: [`not run by the legacy client: ${reason}`],
        exitCode: null,
        outputTail: null,
      },
    })),
    now,
  );
}
