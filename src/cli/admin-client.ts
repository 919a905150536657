import { readFile } from 'node:fs/promises';
import { siteDataLayout } from '../site/data-folder/layout.js';
import { RemoteError, SiteUnreachableError, UsageError } from './cli-errors.js';

export interface AdminTarget {
  url: string;
  token: string;
}

/**
 * Finds the site and the credentials for admin commands (DESIGN.md section 9): the site from
 * --site URL or the data folder, credentials from STEWARD_TOKEN or the data folder.
 */
export async function resolveAdminTarget(options: { site?: string; data?: string }): Promise<AdminTarget> {
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
  return { url: url.replace(/\/+$/, ''), token };
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
}
