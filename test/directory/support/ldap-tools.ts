/**
 * The directory administrator's own tools (ldap-utils), as the tests use them to load the schema,
 * the ACLs and the accounts: what docs/directory.md tells an administrator to run.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ToolBind {
  url: string;
  dn: string;
  password: string;
}

/** `ldapmodify -a` (entries without a changetype are added) with LDIF on standard input. */
export async function ldapModify(bind: ToolBind, ldif: string): Promise<void> {
  const child = run('ldapmodify', ['-a', '-x', '-H', bind.url, '-D', bind.dn, '-w', bind.password], {
    env: { ...process.env, LDAPTLS_REQCERT: 'never' },
    timeout: 30_000,
  });
  child.child.stdin?.end(ldif);
  try {
    await child;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`ldapmodify as ${bind.dn} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}

/** A free TCP port on 127.0.0.1 (released just before the caller binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error('the server exited before it listened');
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
