/**
 * One SSH connection for `steward client push`, with the `ssh2` library (docs/client-push.md,
 * "Why ssh2"): the password or private key is handed to the library in memory and never reaches a
 * child process, an environment variable, an askpass helper or a file of ours. The server's host
 * key is checked against the fingerprints given before any credential is sent (the key exchange
 * comes before authentication in SSH), and only the one authentication method given is tried.
 */
import { Client, type ClientChannel, type PasswordAuthMethod, type PublicKeyAuthMethod } from 'ssh2';
import { sha256Hex } from '../../trust/index.js';
import {
  PushAuthenticationError,
  PushConnectError,
  PushHostKeyError,
  PushRemoteError,
} from './push-errors.js';

export type PushCredential =
  { kind: 'password'; password: string } | { kind: 'identity'; privateKey: Buffer };

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  /** Accepted host keys, as `ssh-keygen -lf` prints them: `SHA256:<base64>`. */
  hostKeys: readonly string[];
  connectTimeoutMs: number;
}

/** OpenSSH's fingerprint of a host key blob: `SHA256:` and unpadded base64 of its SHA-256. */
export function openSshFingerprint(keyBlob: Uint8Array): string {
  return `SHA256:${Buffer.from(sha256Hex(keyBlob), 'hex').toString('base64').replace(/=+$/, '')}`;
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export class SshSession {
  private constructor(
    private readonly client: Client,
    readonly hostKey: string,
  ) {}

  /** Connects, checks the host key, authenticates with the one credential given. */
  static async connect(target: SshTarget, credential: PushCredential): Promise<SshSession> {
    const client = new Client();
    let offered: string | undefined;
    let hostKeyRefused = false;
    const auth: (PasswordAuthMethod | PublicKeyAuthMethod)[] =
      credential.kind === 'password'
        ? [{ type: 'password', username: target.username, password: credential.password }]
        : [{ type: 'publickey', username: target.username, key: credential.privateKey }];
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (error: Error & { level?: string }) => {
        if (hostKeyRefused) {
          reject(
            new PushHostKeyError(
              `${target.host}:${target.port} offered host key ${offered ?? 'unknown'}, which is not among the --host-key fingerprints; ` +
                'check it on the target (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and pass it with --host-key',
            ),
          );
        } else if (error.level === 'client-authentication') {
          reject(
            new PushAuthenticationError(
              `${target.username}@${target.host} refused the ${credential.kind === 'password' ? 'password' : 'key'}`,
            ),
          );
        } else {
          reject(new PushConnectError(`cannot connect to ${target.host}:${target.port}: ${error.message}`));
        }
      });
      try {
        client.connect({
          host: target.host,
          port: target.port,
          username: target.username,
          readyTimeout: target.connectTimeoutMs,
          hostVerifier: (key: Buffer) => {
            offered = openSshFingerprint(key);
            const accepted = target.hostKeys.includes(offered);
            hostKeyRefused = !accepted;
            return accepted;
          },
          authHandler: auth,
          tryKeyboard: false,
        });
      } catch (cause) {
        // ssh2 parses the private key synchronously: an encrypted or unreadable key fails here.
        reject(
          new PushAuthenticationError(`the identity cannot be used: ${(cause as Error).message}`, { cause }),
        );
      }
    });
    return new SshSession(client, offered ?? '');
  }

  /** Runs one command line on the target; output is capped, and so is the time. */
  async exec(command: string, options: { timeoutMs: number; maxBytes?: number }): Promise<ExecResult> {
    const maxBytes = options.maxBytes ?? 1024 * 1024;
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      this.client.exec(command, (error, stream) => {
        if (error !== undefined)
          reject(new PushRemoteError(`cannot run a command on the target: ${error.message}`));
        else resolve(stream);
      });
    });
    return new Promise<ExecResult>((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let size = 0;
      const keep = (into: Buffer[]) => (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size <= maxBytes) into.push(chunk);
      };
      channel.on('data', keep(stdout));
      channel.stderr.on('data', keep(stderr));
      const timer = setTimeout(() => {
        channel.close();
        reject(
          new PushRemoteError(`the command on the target did not finish in ${options.timeoutMs / 1000} s`),
        );
      }, options.timeoutMs);
      channel.on('close', (code: number | null, signal: string | null) => {
        clearTimeout(timer);
        resolve({
          code: code ?? null,
          signal: signal ?? null,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        });
      });
    });
  }

  /** Copies a local file to the target over SFTP with the given mode. */
  async upload(localPath: string, remotePath: string, mode: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.client.sftp((error, sftp) => {
        if (error !== undefined) {
          reject(new PushRemoteError(`the target offers no SFTP: ${error.message}`));
          return;
        }
        sftp.fastPut(localPath, remotePath, { mode }, (putError) => {
          sftp.end();
          if (putError !== undefined && putError !== null) {
            reject(new PushRemoteError(`copying the agent to ${remotePath} failed: ${putError.message}`));
          } else resolve();
        });
      });
    });
  }

  close(): void {
    this.client.end();
  }
}
