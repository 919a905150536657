/**
 * Status lines from a legacy client (docs/legacy-client.md, "Status"). A legacy client has no key to
 * sign reports with: its lines are accepted on its bearer secret alone, which is why legacy clients
 * are off by default and counted by the audit. Each line becomes a status message like an agent's,
 * stored once per message id, and moves the deployment's summary.
 */
import { protocolLimits, statusByName, type StatusName } from '../../protocol/index.js';
import type { SiteDb } from '../../site/database/site-db.js';
import { applyStatusMessages, type IncomingStatus } from '../../site/status/status-store.js';
import { isCanonicalBase64, sha256Hex } from '../../trust/index.js';
import { LegacyRequestInvalidError } from './legacy-errors.js';
import type { LegacyClientIdentity } from './legacy-store.js';

export const legacyStatusFormat = 'steward-legacy-status/v1';
export const maxLegacyStatusLines = 100;
export const maxLegacyStatusBytes = 256 * 1024;

/** The status names a legacy client may send: the agent's own (docs/agent.md). */
const allowedNames: readonly StatusName[] = [
  'policy-received',
  'download-started',
  'download-completed',
  'download-failed',
  'hash-mismatch',
  'program-started',
  'program-succeeded',
  'program-failed',
  'program-timed-out',
  'program-not-started',
  'rerun-skipped',
  'deployment-expired',
  'assignments-refused',
];

const messageIdPattern = /^[A-Za-z0-9._-]{8,64}$/;
const deploymentIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const skewMs = 5 * 60 * 1000;

function invalid(line: number, why: string): LegacyRequestInvalidError {
  return new LegacyRequestInvalidError(`status line ${line}: ${why}`);
}

/** Parses the status body into status messages; ERR_LEGACY_REQUEST_INVALID for any bad line. */
export function parseLegacyStatus(text: string, client: LegacyClientIdentity, now: Date): IncomingStatus[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== legacyStatusFormat) throw invalid(1, `the first line must be ${legacyStatusFormat}`);
  if (lines.length - 1 > maxLegacyStatusLines) {
    throw new LegacyRequestInvalidError(`at most ${maxLegacyStatusLines} status lines per request`);
  }
  return lines.slice(1).map((line, index) => parseLine(line, index + 2, client, now));
}

function parseLine(line: string, number: number, client: LegacyClientIdentity, now: Date): IncomingStatus {
  const fields = line.split(' ');
  if (fields.length !== 8 || fields[0] !== 'status')
    throw invalid(number, 'expected 8 fields after "status"');
  const [, messageId = '', name = '', deployment = '', version = '', exit = '', epoch = '', detail = ''] =
    fields;
  if (!messageIdPattern.test(messageId))
    throw invalid(number, 'the message id is 8 to 64 of A-Z a-z 0-9 . _ -');
  const definition = (allowedNames as readonly string[]).includes(name)
    ? statusByName(name as StatusName)
    : undefined;
  if (definition === undefined) throw invalid(number, `unknown status ${name.slice(0, 40)}`);
  if (deployment !== '-' && !deploymentIdPattern.test(deployment)) throw invalid(number, 'bad deployment id');
  const policyVersion = version === '-' ? null : Number(version);
  if (policyVersion !== null && !(Number.isSafeInteger(policyVersion) && policyVersion >= 1)) {
    throw invalid(number, 'bad policy version');
  }
  const exitCode = exit === '-' ? null : Number(exit);
  if (exitCode !== null && !(/^-?\d{1,10}$/.test(exit) && Number.isSafeInteger(exitCode))) {
    throw invalid(number, 'bad exit code');
  }
  if (!/^\d{1,12}$/.test(epoch)) throw invalid(number, 'the time is seconds since 1970');
  const claimed = Number(epoch) * 1000;
  // A client clock far off is not trusted for ordering: such a message counts as received now.
  const occurred =
    claimed > now.getTime() + skewMs || claimed < now.getTime() - protocolLimits.reportValidityMs
      ? now
      : new Date(claimed);
  let text: string | null = null;
  if (detail !== '-') {
    if (detail.length > 8192 || !isCanonicalBase64(detail))
      throw invalid(number, 'the detail is canonical base64');
    text = Buffer.from(detail, 'base64').toString('utf8').slice(-protocolLimits.maxOutputTailBytes);
  }
  const deploymentId = deployment === '-' ? null : deployment;
  return {
    messageId: `legacy-${sha256Hex(`${client.clientId}\n${messageId}`).slice(0, 48)}`,
    clientId: client.clientId,
    machine: client.hostname,
    message: {
      statusId: definition.id,
      deploymentId,
      policyVersion,
      occurredAt: occurred.toISOString(),
      insertionStrings: deploymentId === null && text !== null ? [text.slice(0, 1024)] : [],
      exitCode,
      outputTail: deploymentId === null ? null : text,
    },
  };
}

export async function storeLegacyStatus(
  db: SiteDb,
  siteCode: string,
  messages: readonly IncomingStatus[],
  now: Date,
): Promise<void> {
  await applyStatusMessages(db, siteCode, messages, now);
}
