import { SiteLinkUnreachableError } from './hierarchy-errors.js';

/** An answer read in full, never past its byte limit (C6). */
export interface BoundedAnswer {
  status: number;
  text: string;
  headers: Headers;
}

/**
 * Site-to-site HTTP: a request with a deadline whose answer is read up to `maxBytes` only
 * (ERR_SITE_LINK_UNREACHABLE when the other site cannot be reached, answers too much or too late).
 */
export async function siteFetch(
  url: string,
  init: { method?: 'GET' | 'POST'; body?: unknown; headers?: Record<string, string>; timeoutMs?: number },
  maxBytes = 4 * 1024 * 1024,
): Promise<BoundedAnswer> {
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
