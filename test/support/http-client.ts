/**
 * Plain HTTP over loopback for the security tests: requests from a chosen local address (the
 * management point limits registrations per address; every 127.x.y.z is local on Linux), and raw
 * sockets that send exactly the bytes a test writes (malformed headers, slow clients).
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json(): unknown;
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  /** A string or bytes as is; anything else as JSON (with its content type). */
  body?: unknown;
  localAddress?: string;
  timeoutMs?: number;
}

/** One request; rejects only when no HTTP answer came (refused, reset, timed out). */
export function httpRequest(url: string, options: HttpRequest = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: Buffer | undefined;
  if (typeof options.body === 'string' || Buffer.isBuffer(options.body)) {
    body = Buffer.from(options.body);
  } else if (options.body !== undefined) {
    body = Buffer.from(JSON.stringify(options.body));
    headers['content-type'] ??= 'application/json';
  }
  if (body !== undefined) headers['content-length'] ??= String(body.byteLength);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        agent: false,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        timeout: options.timeoutMs ?? 30_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text,
            json: () => JSON.parse(text) as unknown,
          });
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${url}: no answer within ${options.timeoutMs ?? 30_000} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

export interface RawExchange {
  /** Everything the server sent, as text. */
  readonly received: string;
  /** How the connection ended: the server closed it, it was reset, or the test gave up. */
  readonly ending: 'closed' | 'reset' | 'gave-up';
  readonly elapsedMs: number;
}

/**
 * Opens a socket to `host:port`, lets `write` send what it likes (paced as it likes), and collects
 * what the server answers until it closes the connection or `giveUpMs` passes.
 */
export function rawExchange(
  host: string,
  port: number,
  write: (socket: Socket, closed: () => boolean, receivedBytes: () => number) => Promise<void>,
  giveUpMs: number,
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (ending: RawExchange['ending']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        received: Buffer.concat(chunks).toString('latin1'),
        ending,
        elapsedMs: Date.now() - started,
      });
    };
    const timer = setTimeout(() => finish('gave-up'), giveUpMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish('reset');
      else if (!done) {
        done = true;
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.once('connect', () => {
      write(
        socket,
        () => done,
        () => chunks.reduce((sum, chunk) => sum + chunk.length, 0),
      ).catch((error: unknown) => {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ERR_STREAM_DESTROYED' || code === 'EPIPE' || code === 'ECONNRESET') return;
        if (!done) {
          done = true;
          clearTimeout(timer);
          socket.destroy();
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
  });
}

/** The status code of the first HTTP answer in raw text, or undefined when there is none. */
export function firstStatus(received: string): number | undefined {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(received);
  return match === null ? undefined : Number(match[1]);
}

/** Every status code in raw text (several answers on one keep-alive connection). */
export function allStatuses(received: string): number[] {
  return [...received.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}

/** Writes to a socket and waits until the bytes are handed to the kernel. */
export function writeAsync(socket: Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
