/**
 * `steward client push` (docs/client-push.md): installs the single-file agent on a machine over SSH
 * and enrols it, with credentials given for this one operation. The password or private key is
 * read from its file into memory, handed to the SSH library, and the buffer is overwritten as soon
 * as the connection is authenticated; it is never written anywhere, logged, or put in the
 * environment of any process (no process is started here at all).
 */
import { open, stat } from 'node:fs/promises';
import { randomToken } from '../../trust/index.js';
import { PushAgentMissingError, PushCredentialError, PushRemoteError } from './push-errors.js';
import { shellCommand, shellQuote } from './shell-quote.js';
import { SshSession, type PushCredential, type SshTarget } from './ssh-session.js';

export interface PushOptions {
  target: SshTarget;
  credentialFile: { kind: 'password' | 'identity'; path: string };
  /** The single-file agent to copy (`npm run build:agent` → dist/steward-agent.cjs). */
  agentFile: string;
  /** On the target. */
  installDir: string;
  agentData: string;
  node: string;
  mpUrl: string;
  rootKey: string;
  enrolmentToken: string;
  hostname?: string;
}

export interface PushResult {
  target: string;
  hostKey: string;
  authentication: 'password' | 'publickey';
  agentPath: string;
  agentData: string;
  nodeVersion: string;
  clientId: string;
  state: string;
  siteCode: string;
  rootFingerprint: string;
}

const maxPasswordBytes = 4096;
const maxIdentityBytes = 64 * 1024;

/** Reads the secret file into a buffer the caller overwrites after use. */
async function readSecretFile(path: string, maxBytes: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new PushCredentialError(`${path} cannot be read`, { cause });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > maxBytes) {
      throw new PushCredentialError(`${path} is not a file of at most ${maxBytes} bytes`);
    }
    const buffer = Buffer.alloc(info.size);
    const { bytesRead } = await handle.read(buffer, 0, info.size, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function readCredential(file: PushOptions['credentialFile']): Promise<{
  credential: PushCredential;
  wipe: () => void;
}> {
  if (file.kind === 'identity') {
    const privateKey = await readSecretFile(file.path, maxIdentityBytes);
    return { credential: { kind: 'identity', privateKey }, wipe: () => privateKey.fill(0) };
  }
  const bytes = await readSecretFile(file.path, maxPasswordBytes);
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end -= 1;
  if (end === 0) throw new PushCredentialError(`${file.path} holds no password`);
  // The SSH library takes a string; the file's bytes are overwritten once it has been sent.
  const password = bytes.subarray(0, end).toString('utf8');
  return { credential: { kind: 'password', password }, wipe: () => bytes.fill(0) };
}

/** `error ERR_X: message` from the agent's standard error, for a readable failure. */
function remoteFailure(step: string, stderr: string, code: number | null): PushRemoteError {
  const line =
    stderr.split('\n').find((l) => l.startsWith('error ')) ?? stderr.trim().split('\n').at(-1) ?? '';
  return new PushRemoteError(
    `${step} failed on the target (exit ${code ?? 'signal'}): ${line.slice(0, 500)}`,
  );
}

export async function pushAgent(options: PushOptions): Promise<PushResult> {
  try {
    const info = await stat(options.agentFile);
    if (!info.isFile()) throw new Error('not a file');
  } catch (cause) {
    throw new PushAgentMissingError(
      `the single-file agent ${options.agentFile} is missing: build it with npm run build:agent`,
      { cause },
    );
  }
  const { credential, wipe } = await readCredential(options.credentialFile);
  let session: SshSession;
  try {
    session = await SshSession.connect(options.target, credential);
  } finally {
    // Authenticated (or failed): the credential is not needed again.
    wipe();
  }
  try {
    const version = await session.exec(`${shellQuote(options.node)} --version`, { timeoutMs: 60_000 });
    const major = /^v(\d+)\./.exec(version.stdout.trim())?.[1];
    if (version.code !== 0 || major === undefined) {
      throw remoteFailure(
        `${options.node} --version (is Node.js 20 or later installed?)`,
        version.stderr,
        version.code,
      );
    }
    if (Number(major) < 20) {
      throw new PushRemoteError(
        `the target has Node.js ${version.stdout.trim()}; the agent needs 20 or later`,
      );
    }
    const prepare = await session.exec(`mkdir -p ${shellQuote(options.installDir)}`, { timeoutMs: 60_000 });
    if (prepare.code !== 0) throw remoteFailure(`mkdir ${options.installDir}`, prepare.stderr, prepare.code);

    const agentPath = `${options.installDir.replace(/\/+$/, '')}/steward-agent.cjs`;
    const partial = `${agentPath}.partial-${randomToken(6).replace(/[^A-Za-z0-9]/g, 'x')}`;
    await session.upload(options.agentFile, partial, 0o755);
    const enrol = [
      options.node,
      agentPath,
      'agent',
      'enroll',
      '--data',
      options.agentData,
      '--mp',
      options.mpUrl,
      '--root-key',
      options.rootKey,
      '--token',
      options.enrolmentToken,
      ...(options.hostname === undefined ? [] : ['--hostname', options.hostname]),
      '--json',
    ];
    const enrolled = await session.exec(
      `mv -f ${shellQuote(partial)} ${shellQuote(agentPath)} && ${shellCommand(enrol)}`,
      { timeoutMs: 300_000 },
    );
    if (enrolled.code !== 0) throw remoteFailure('agent enroll', enrolled.stderr, enrolled.code);
    let answer: { clientId?: unknown; state?: unknown; siteCode?: unknown; rootFingerprint?: unknown };
    try {
      answer = JSON.parse(enrolled.stdout) as typeof answer;
    } catch (cause) {
      throw new PushRemoteError('agent enroll printed no JSON answer', { cause });
    }
    if (typeof answer.clientId !== 'string') throw new PushRemoteError('agent enroll named no client id');
    return {
      target: `${options.target.username}@${options.target.host}:${options.target.port}`,
      hostKey: session.hostKey,
      authentication: credential.kind === 'password' ? 'password' : 'publickey',
      agentPath,
      agentData: options.agentData,
      nodeVersion: version.stdout.trim(),
      clientId: answer.clientId,
      state: String(answer.state),
      siteCode: String(answer.siteCode),
      rootFingerprint: String(answer.rootFingerprint),
    };
  } finally {
    session.close();
  }
}
