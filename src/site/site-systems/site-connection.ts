import {
  HttpsRequestError,
  httpsFetch,
  httpsStream,
  isStewardError,
  type TlsClientOptions,
} from '../../trust/index.js';
import { RemoteError, siteSystemRequestHeader } from '../../protocol/index.js';
import { signSiteSystemRequest, type SiteSystemIdentity } from './site-system-requests.js';
import { SiteUnreachableError } from './site-system-errors.js';

export interface SiteAnswer {
  status: number;
  text: string;
}

/**
 * A site system's connection to its site server (docs/scale-out.md): plain HTTP on loopback, or
 * HTTPS validated against the hierarchy CA alone (the one endorsed by the pinned root at install).
 * Requests are signed with the system's own key when it has one; every answer is read up to a byte
 * limit within a deadline; an unreachable site is ERR_SITE_UNREACHABLE (retryable); an error answer
 * is a RemoteError with the site's code.
 */
export class SiteConnection {
  constructor(
    readonly siteUrl: string,
    private readonly tls: TlsClientOptions | undefined,
    private readonly identity: SiteSystemIdentity | undefined,
  ) {}

  async get(path: string, maxBytes = 4 * 1024 * 1024): Promise<string> {
    return this.#expectOk(await this.request('GET', path, undefined, maxBytes));
  }

  async post(path: string, body: unknown, maxBytes = 4 * 1024 * 1024): Promise<string> {
    return this.#expectOk(await this.request('POST', path, body, maxBytes));
  }

  async request(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    maxBytes: number,
    timeoutMs = 30_000,
  ): Promise<SiteAnswer> {
    const url = `${this.siteUrl.replace(/\/+$/, '')}${path}`;
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (this.identity !== undefined) {
      headers[siteSystemRequestHeader] = signSiteSystemRequest(
        this.identity,
        { method, path, body: text },
        new Date(),
      );
    }
    if (url.startsWith('https:')) {
      if (this.tls === undefined)
        throw new SiteUnreachableError(`${url}: no hierarchy CA to check the site with`);
      try {
        const answer = await httpsFetch(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body: text }),
          maxBytes,
          timeoutMs,
          tls: this.tls,
        });
        return { status: answer.status, text: Buffer.from(answer.body).toString('utf8') };
      } catch (cause) {
        if (cause instanceof HttpsRequestError)
          throw new SiteUnreachableError(`${url}: ${cause.message}`, { cause });
        throw cause;
      }
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: text }),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (cause) {
      throw new SiteUnreachableError(`${url}: ${(cause as Error).message}`, { cause });
    }
    return { status: response.status, text: await readBounded(url, response, maxBytes) };
  }

  /** A streamed GET (content files): status and a body to read; the caller limits its size. */
  async stream(
    path: string,
    timeoutMs: number,
  ): Promise<{ status: number; body: AsyncIterable<Uint8Array>; cancel(): void }> {
    const url = `${this.siteUrl.replace(/\/+$/, '')}${path}`;
    if (url.startsWith('https:')) {
      if (this.tls === undefined)
        throw new SiteUnreachableError(`${url}: no hierarchy CA to check the site with`);
      try {
        const answer = await httpsStream(url, { timeoutMs, tls: this.tls });
        return { status: answer.status, body: answer.body, cancel: () => answer.cancel() };
      } catch (cause) {
        if (cause instanceof HttpsRequestError)
          throw new SiteUnreachableError(`${url}: ${cause.message}`, { cause });
        throw cause;
      }
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    timer.unref();
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal, redirect: 'error' });
    } catch (cause) {
      clearTimeout(timer);
      throw new SiteUnreachableError(`${url}: ${(cause as Error).message}`, { cause });
    }
    const body = response.body ?? emptyStream();
    return {
      status: response.status,
      body: (async function* () {
        try {
          for await (const chunk of body as AsyncIterable<Uint8Array>) yield chunk;
        } catch (cause) {
          throw new SiteUnreachableError(`${url}: ${(cause as Error).message}`, { cause });
        } finally {
          clearTimeout(timer);
        }
      })(),
      cancel: () => {
        clearTimeout(timer);
        controller.abort();
      },
    };
  }

  #expectOk(answer: SiteAnswer): string {
    if (answer.status >= 200 && answer.status < 300) return answer.text;
    throw remoteError(answer);
  }
}

/** The site's error answer as a RemoteError with its stable code. */
export function remoteError(answer: SiteAnswer): RemoteError {
  try {
    const parsed = JSON.parse(answer.text) as {
      error?: { code?: unknown; message?: unknown; retryable?: unknown };
    };
    const error = parsed.error;
    if (error !== undefined && typeof error.code === 'string' && typeof error.message === 'string') {
      return new RemoteError(
        error.code,
        `the site answered: ${error.message}`,
        answer.status,
        typeof error.retryable === 'boolean' ? error.retryable : undefined,
      );
    }
  } catch {
    // not a Steward error body
  }
  return new RemoteError(
    `ERR_HTTP_${answer.status}`,
    `the site answered HTTP ${answer.status}`,
    answer.status,
  );
}

/** True when a failure talking to the site is worth retrying later. */
export function isRetryableSiteFailure(error: unknown): boolean {
  return isStewardError(error) && error.retryable;
}

async function readBounded(url: string, response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 'NaN');
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new SiteUnreachableError(`${url} answered ${declared} bytes; at most ${maxBytes} are read`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of (response.body ?? emptyStream()) as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > maxBytes) throw new SiteUnreachableError(`${url} sent more than ${maxBytes} bytes`);
      chunks.push(Buffer.from(chunk));
    }
  } catch (cause) {
    if (cause instanceof SiteUnreachableError) throw cause;
    throw new SiteUnreachableError(`${url}: ${(cause as Error).message}`, { cause });
  }
  return Buffer.concat(chunks).toString('utf8');
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}
