import { RemoteError } from '../../protocol/index.js';
import {
  HttpsRequestError,
  httpsFetch,
  TlsCaMismatchError,
  TooLargeError,
  type TlsClientOptions,
} from '../../trust/index.js';
import { ManagementPointUnreachableError, ResponseTooLargeError } from '../agent-errors.js';

export interface BoundedResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

export interface BoundedFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  maxBytes: number;
  timeoutMs: number;
  /**
   * For https URLs (docs/tls.md): the hierarchy CA to validate the server against and the client
   * certificate to present. An https URL is never fetched without it (never the system store).
   */
  tls?: TlsClientOptions | undefined;
}

/**
 * A fetch that never reads more than `maxBytes` of a response (C6: limits before allocating) and
 * gives up after `timeoutMs`. Error answers become RemoteError with the server's code. https URLs
 * go through httpsFetch with the hierarchy CA; a server it does not vouch for is
 * ERR_TLS_SERVER_UNTRUSTED.
 */
export async function boundedFetch(url: string, init: BoundedFetchInit): Promise<BoundedResponse> {
  if (url.startsWith('https:')) return boundedHttpsFetch(url, init);
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? 'GET',
      headers: init.headers ?? {},
      ...(init.body === undefined ? {} : { body: init.body }),
      signal: AbortSignal.timeout(init.timeoutMs),
      redirect: 'error',
    });
  } catch (cause) {
    throw new ManagementPointUnreachableError(`${url}: ${(cause as Error).message}`, { cause });
  }
  const declared = Number(response.headers.get('content-length') ?? 'NaN');
  if (Number.isFinite(declared) && declared > init.maxBytes) {
    await response.body?.cancel();
    throw new ResponseTooLargeError(
      `${url} answered ${declared} bytes; at most ${init.maxBytes} are accepted`,
    );
  }
  const chunks: Buffer[] = [];
  let total = 0;
  if (response.body !== null) {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read().catch((cause: unknown) => {
        throw new ManagementPointUnreachableError(`${url}: ${(cause as Error).message}`, { cause });
      });
      if (done) break;
      total += value.byteLength;
      if (total > init.maxBytes) {
        await reader.cancel();
        throw new ResponseTooLargeError(`${url} sent more than ${init.maxBytes} bytes`);
      }
      chunks.push(Buffer.from(value));
    }
  }
  const body = Buffer.concat(chunks);
  if (response.status >= 400) throw remoteErrorOf(response.status, body);
  return { status: response.status, headers: response.headers, body };
}

async function boundedHttpsFetch(url: string, init: BoundedFetchInit): Promise<BoundedResponse> {
  if (init.tls === undefined) {
    throw new TlsCaMismatchError(
      `${url} is an https URL, and this agent holds no hierarchy TLS CA to check it with (enrol over HTTPS)`,
    );
  }
  let response;
  try {
    response = await httpsFetch(url, {
      method: init.method ?? 'GET',
      headers: init.headers ?? {},
      ...(init.body === undefined ? {} : { body: init.body }),
      maxBytes: init.maxBytes,
      timeoutMs: init.timeoutMs,
      tls: init.tls,
    });
  } catch (cause) {
    if (cause instanceof HttpsRequestError) {
      throw new ManagementPointUnreachableError(`${url}: ${cause.message}`, { cause });
    }
    if (cause instanceof TooLargeError) {
      throw new ResponseTooLargeError(`${url} sent more than ${init.maxBytes} bytes`, { cause });
    }
    throw cause;
  }
  const body = Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength);
  if (response.status >= 400) throw remoteErrorOf(response.status, body);
  return { status: response.status, headers: new Headers(response.headers), body };
}

function remoteErrorOf(status: number, body: Buffer): RemoteError {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as {
      error?: { code?: unknown; message?: unknown; retryable?: unknown };
    };
    const error = parsed.error;
    if (error !== undefined && typeof error.code === 'string' && typeof error.message === 'string') {
      return new RemoteError(
        error.code,
        error.message,
        status,
        typeof error.retryable === 'boolean' ? error.retryable : undefined,
      );
    }
  } catch {
    // Not a Steward error body: fall through to a generic one.
  }
  return new RemoteError(`ERR_HTTP_${status}`, `the server answered HTTP ${status}`, status);
}
