import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { commandExists, startChild, type StartedChild } from '../harness/children.js';
import { freePort } from '../harness/ports.js';
import { sleep } from '../harness/timing.js';

export interface RunningNginx {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** True when the nginx binary is installed. */
export function nginxInstalled(): Promise<boolean> {
  return commandExists('nginx');
}

/**
 * nginx serving `root` on a loopback port, with a configuration file of its own, in the
 * foreground (`daemon off`) with its own PID file, stopped by the PID of its master process. One
 * worker process, like the single Node process it is compared with; sendfile on, no access log.
 */
export async function startNginx(
  workDir: string,
  root: string,
  options: { defaultType?: string } = {},
): Promise<RunningNginx> {
  await mkdir(join(workDir, 'temp'), { recursive: true });
  const port = await freePort();
  const config = join(workDir, 'nginx.conf');
  const runningAsRoot = process.getuid?.() === 0;
  await writeFile(
    config,
    [
      ...(runningAsRoot ? ['user root;'] : []),
      'worker_processes 1;',
      'daemon off;',
      `pid ${join(workDir, 'nginx.pid')};`,
      `error_log ${join(workDir, 'error.log')} warn;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      '  sendfile on;',
      '  tcp_nopush on;',
      '  keepalive_timeout 65;',
      '  keepalive_requests 10000000;',
      `  default_type ${options.defaultType ?? 'application/octet-stream'};`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (kind) => `  ${kind}_temp_path ${join(workDir, 'temp', kind)};`,
      ),
      `  server { listen 127.0.0.1:${port}; root ${root}; location / { } }`,
      '}',
      '',
    ].join('\n'),
  );
  const child: StartedChild = startChild('nginx', ['-c', config, '-p', workDir], join(workDir, 'nginx.log'));
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (child.child.exitCode !== null) throw new Error(`nginx exited; see ${join(workDir, 'error.log')}`);
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error('nginx did not start listening');
    }
    await sleep(50);
  }
  return { url: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => child.stop() };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
