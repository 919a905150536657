import { RemoteError } from '../../protocol/index.js';
import { TooLargeError } from '../../trust/index.js';
import { LocatorResponseError, LocatorUnreachableError } from './locate-errors.js';

export interface BoundedPostOptions {
  /** C6: bytes read at most; a longer answer is ERR_TOO_LARGE, cut off unread. */
  maxBytes: number;
  /** The whole exchange, connecting to the last byte, must end within this. */
  timeoutMs: number;
  fetch?: typeof fetch;
}

/**
 * POSTs JSON and reads the answer under a byte limit and a time limit (C6), whatever the fetch
 * implementation does with the abort signal. Redirects are refused. A 4xx/5xx with a Steward error
 * body becomes a RemoteError carrying the server's code.
 */
export async function boundedPostJson(
  url: string,
  body: unknown,
  options: BoundedPostOptions,
): Promise<Buffer> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new LocatorUnreachableError(`${url}: no complete answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
  });
  try {
    return await Promise.race([exchange(url, body, options, controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

async function exchange(
  url: string,
  body: unknown,
  options: BoundedPostOptions,
  signal: AbortSignal,
): Promise<Buffer> {
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      redirect: 'error',
      signal,
    });
  } catch (cause) {
    throw new LocatorUnreachableError(`${url}: ${(cause as Error).message}`, { cause });
  }
  const declared = Number(response.headers.get('content-length') ?? 'NaN');
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new TooLargeError(`${url} answered ${declared} bytes; at most ${options.maxBytes} are read`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  if (response.body !== null) {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (cause) {
        throw new LocatorUnreachableError(`${url}: ${(cause as Error).message}`, { cause });
      }
      if (chunk.done) break;
      total += chunk.value.byteLength;
      if (total > options.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new TooLargeError(`${url} sent more than ${options.maxBytes} bytes; the rest was not read`);
      }
      chunks.push(Buffer.from(chunk.value));
    }
  }
  const bytes = Buffer.concat(chunks);
  if (response.status >= 400) throw remoteErrorOf(url, response.status, bytes);
  if (response.status !== 200) {
    throw new LocatorResponseError(`${url} answered HTTP ${response.status}; expected 200`);
  }
  return bytes;
}

function remoteErrorOf(url: string, status: number, bytes: Buffer): RemoteError {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as {
      error?: { code?: unknown; message?: unknown; retryable?: unknown };
    };
    const error = parsed.error;
    if (error !== undefined && typeof error.code === 'string' && typeof error.message === 'string') {
      return new RemoteError(
        error.code,
        `${url}: ${error.message.slice(0, 2000)}`,
        status,
        typeof error.retryable === 'boolean' ? error.retryable : undefined,
      );
    }
  } catch {
    // Not a Steward error body: a generic error for the status follows.
  }
  return new RemoteError(`ERR_HTTP_${status}`, `${url} answered HTTP ${status}`, status);
}
