import { readFile } from 'node:fs/promises';
import { siteDataLayout } from '../site/data-folder/layout.js';
import { HttpsRequestError, httpsFetch, tlsOptionsFor, type TlsClientOptions } from '../trust/index.js';
import { RemoteError, SiteUnreachableError, UsageError } from './cli-errors.js';

export interface AdminTarget {
  url: string;
  token: string;
  /** For an https site: the only CA its certificate may chain to (docs/tls.md). */
  tls?: TlsClientOptions;
}

/**
 * Finds the site and the credentials for admin commands (DESIGN.md section 9): the site from
 * --site URL or the data folder, credentials from STEWARD_TOKEN or the data folder. An https site
 * is checked against one CA only, never the system store: --ca-file (or STEWARD_CA_FILE), else the
 * hierarchy CA in the data folder (tls/ca.pem). A site whose certificate does not chain to it is
 * refused with ERR_TLS_SERVER_UNTRUSTED.
 */
export async function resolveAdminTarget(options: {
  site?: string;
  data?: string;
  caFile?: string;
}): Promise<AdminTarget> {
  let url = options.site;
  let token = process.env['STEWARD_TOKEN'];
  if (options.data !== undefined) {
    const layout = siteDataLayout(options.data);
    if (url === undefined) {
      const runtime = await readJson(layout.runtime);
      url = typeof runtime?.['url'] === 'string' ? runtime['url'] : undefined;
    }
    if (token === undefined || token === '') {
      const credentials = await readJson(layout.credentials);
      token = typeof credentials?.['token'] === 'string' ? credentials['token'] : undefined;
      if (url === undefined && typeof credentials?.['url'] === 'string') url = credentials['url'];
    }
  }
  if (url === undefined) throw new UsageError('say which site: --site URL, or --data DIR of a running site');
  if (token === undefined || token === '') {
    throw new UsageError(
      "no credentials: set STEWARD_TOKEN, or use --data DIR with the site's admin credentials",
    );
  }
  const target: AdminTarget = { url: url.replace(/\/+$/, ''), token };
  if (target.url.startsWith('https:')) target.tls = await adminTls(options);
  return target;
}

async function adminTls(options: { data?: string; caFile?: string }): Promise<TlsClientOptions> {
  const fromEnv = process.env['STEWARD_CA_FILE'];
  const caFile =
    options.caFile ??
    (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined) ??
    (options.data === undefined ? undefined : siteDataLayout(options.data).tlsCaCertificate);
  if (caFile === undefined) {
    throw new UsageError(
      "the site serves HTTPS: give its CA with --ca-file FILE (or STEWARD_CA_FILE), or --data DIR with the site's data folder",
    );
  }
  let caPem: string;
  try {
    caPem = await readFile(caFile, 'utf8');
  } catch (cause) {
    throw new UsageError(`--ca-file ${caFile} cannot be read`, { cause });
  }
  return tlsOptionsFor({ caPem });
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export class AdminClient {
  constructor(private readonly target: AdminTarget) {}

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path, undefined);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  async request<T>(method: string, path: string, body: unknown): Promise<T> {
    if (this.target.tls !== undefined) return this.#httpsRequest<T>(method, path, body, this.target.tls);
    let response: Response;
    try {
      response = await fetch(`${this.target.url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.target.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (cause) {
      throw new SiteUnreachableError(
        `cannot reach the site at ${this.target.url}: ${(cause as Error).message}`,
        { cause },
      );
    }
    const text = await response.text();
    const parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new RemoteError(
        error?.code ?? `ERR_HTTP_${response.status}`,
        error?.message ?? response.statusText,
        response.status,
      );
    }
    return parsed as T;
  }

  /** The same request over HTTPS, the server checked against the given CA only. */
  async #httpsRequest<T>(method: string, path: string, body: unknown, tls: TlsClientOptions): Promise<T> {
    let response;
    try {
      response = await httpsFetch(`${this.target.url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.target.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        maxBytes: 256 * 1024 * 1024,
        timeoutMs: 120_000,
        tls,
      });
    } catch (cause) {
      if (cause instanceof HttpsRequestError) {
        throw new SiteUnreachableError(`cannot reach the site at ${this.target.url}: ${cause.message}`, {
          cause,
        });
      }
      throw cause;
    }
    const text = Buffer.from(response.body).toString('utf8');
    const parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    if (response.status >= 400) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new RemoteError(
        error?.code ?? `ERR_HTTP_${response.status}`,
        error?.message ?? `HTTP ${response.status}`,
        response.status,
      );
    }
    return parsed as T;
  }
}
