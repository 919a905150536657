import { httpsFetch, isStewardError, type TlsClientOptions } from '../../trust/index.js';
import { SiteLinkUnreachableError } from './hierarchy-errors.js';

/**
 * The TLS side of a site link (docs/tls.md, "Site certificates"): the hierarchy CA (never the
 * system store) and this site's own site server certificate, presented as a client certificate.
 * Undefined while the site holds neither (plain HTTP on loopback keeps working without).
 */
export type LinkTls = () => TlsClientOptions | undefined;

/** An answer read in full, never past its byte limit (C6). */
export interface BoundedAnswer {
  status: number;
  text: string;
  headers: Headers;
}

type SiteRequest = {
  method?: 'GET' | 'POST';
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** For an https URL: the CA to validate the other site against and the certificate to present. */
  tls?: TlsClientOptions | undefined;
};

/**
 * Site-to-site HTTP: a request with a deadline whose answer is read up to `maxBytes` only
 * (ERR_SITE_LINK_UNREACHABLE when the other site cannot be reached, answers too much or too late).
 * An https URL is fetched only with `tls`: the other site's certificate must chain to the hierarchy
 * CA (ERR_TLS_SERVER_UNTRUSTED otherwise), and ours is presented for mutual TLS.
 */
export async function siteFetch(
  url: string,
  init: SiteRequest,
  maxBytes = 4 * 1024 * 1024,
): Promise<BoundedAnswer> {
  if (url.startsWith('https:')) return siteFetchHttps(url, init, maxBytes);
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.headers ?? {}),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(init.timeoutMs ?? 60_000),
      redirect: 'error',
    });
  } catch (cause) {
    throw new SiteLinkUnreachableError(`${url}: ${(cause as Error).message}`, { cause });
  }
  const declared = Number(response.headers.get('content-length') ?? 'NaN');
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new SiteLinkUnreachableError(`${url} answered ${declared} bytes; at most ${maxBytes} are read`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  if (response.body !== null) {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      let step: Awaited<ReturnType<typeof reader.read>>;
      try {
        step = await reader.read();
      } catch (cause) {
        throw new SiteLinkUnreachableError(`${url}: ${(cause as Error).message}`, { cause });
      }
      if (step.done) break;
      total += step.value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw new SiteLinkUnreachableError(`${url} sent more than ${maxBytes} bytes`);
      }
      chunks.push(Buffer.from(step.value));
    }
  }
  return { status: response.status, text: Buffer.concat(chunks).toString('utf8'), headers: response.headers };
}

async function siteFetchHttps(url: string, init: SiteRequest, maxBytes: number): Promise<BoundedAnswer> {
  if (init.tls === undefined) {
    throw new SiteLinkUnreachableError(
      `${url}: this site holds no hierarchy CA certificate to check the other site's certificate with`,
    );
  }
  try {
    const answer = await httpsFetch(url, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.headers ?? {}),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      maxBytes,
      timeoutMs: init.timeoutMs ?? 60_000,
      tls: init.tls,
    });
    return {
      status: answer.status,
      text: Buffer.from(answer.body).toString('utf8'),
      headers: new Headers(answer.headers),
    };
  } catch (cause) {
    // Certificate failures keep their own codes (ERR_TLS_SERVER_UNTRUSTED, ERR_TLS_CLIENT_REFUSED).
    if (isStewardError(cause) && cause.code.startsWith('ERR_TLS_')) throw cause;
    throw new SiteLinkUnreachableError(`${url}: ${(cause as Error).message}`, { cause });
  }
}

/** The stable code and message of a Steward error answer, or a generic description. */
export function describeAnswer(answer: BoundedAnswer): { code: string; message: string } {
  try {
    const parsed = JSON.parse(answer.text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code === 'string') {
      return {
        code: parsed.error.code,
        message: typeof parsed.error.message === 'string' ? parsed.error.message : '',
      };
    }
  } catch {
    // not JSON
  }
  return { code: `ERR_HTTP_${answer.status}`, message: `the site answered HTTP ${answer.status}` };
}
