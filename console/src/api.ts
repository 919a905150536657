/**
 * The console's only way to the site: the admin API under /api/v1, authenticated with the
 * short-lived token that signing in returned (docs/console.md). The token lives in this tab's
 * sessionStorage and nowhere else: never in localStorage, a cookie or a URL.
 */

export interface Session {
  readonly token: string;
  readonly sessionId: string;
  readonly account: string;
  readonly expiresAt: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const storageKey = 'steward.console.session';
type Listener = (session: Session | null, reason: string | null) => void;
const listeners = new Set<Listener>();
let current: Session | null = readStoredSession();

function readStoredSession(): Session | null {
  try {
    const text = sessionStorage.getItem(storageKey);
    if (text === null) return null;
    const parsed = JSON.parse(text) as Partial<Session>;
    if (
      typeof parsed.token !== 'string' ||
      typeof parsed.sessionId !== 'string' ||
      typeof parsed.account !== 'string' ||
      typeof parsed.expiresAt !== 'string' ||
      Date.parse(parsed.expiresAt) <= Date.now()
    ) {
      sessionStorage.removeItem(storageKey);
      return null;
    }
    return parsed as Session;
  } catch {
    return null;
  }
}

export function currentSession(): Session | null {
  return current;
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setSession(session: Session | null, reason: string | null): void {
  current = session;
  if (session === null) sessionStorage.removeItem(storageKey);
  else sessionStorage.setItem(storageKey, JSON.stringify(session));
  for (const listener of listeners) listener(session, reason);
}

async function errorOf(response: Response): Promise<ApiError> {
  let code = 'ERR_HTTP';
  let message = `the site answered ${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // Not a JSON error body: keep the status line.
  }
  return new ApiError(response.status, code, message);
}

/** Base64 of the UTF-8 bytes (btoa alone only takes Latin-1). */
function base64Utf8(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Exchanges a name and password for a console token. The password goes to the site once, in the
 * Authorization header of this one request, and is not kept.
 */
export async function signIn(name: string, password: string): Promise<Session> {
  const response = await fetch('/console/session', {
    method: 'POST',
    headers: { authorization: `Basic ${base64Utf8(`${name}:${password}`)}`, accept: 'application/json' },
    cache: 'no-store',
    credentials: 'omit',
  });
  if (!response.ok) throw await errorOf(response);
  const session = (await response.json()) as Session;
  setSession(session, null);
  return session;
}

/** Revokes the token at the site (best effort) and forgets it here. */
export async function signOut(): Promise<void> {
  const session = current;
  setSession(null, 'You are signed out.');
  if (session === null) return;
  await fetch('/console/session', {
    method: 'DELETE',
    headers: { authorization: `Bearer ${session.token}` },
    cache: 'no-store',
    credentials: 'omit',
  }).catch(() => undefined);
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One admin API call; a 401 ends the session (the token expired or was revoked). */
export async function api<T>(method: Method, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const session = current;
  if (session === null) throw new ApiError(401, 'ERR_UNAUTHENTICATED', 'You are not signed in.');
  const headers: Record<string, string> = {
    authorization: `Bearer ${session.token}`,
    accept: 'application/json',
  };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    cache: 'no-store',
    credentials: 'omit',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(signal === undefined ? {} : { signal }),
  });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && current === session) {
      setSession(null, 'Your session has ended; sign in again.');
    }
    throw error;
  }
  return (await response.json()) as T;
}

/** A query string from the values that are set (empty strings and undefined are left out). */
export function query(values: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}
