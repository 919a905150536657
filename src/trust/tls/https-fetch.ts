/**
 * A small HTTPS client on node:https for agents and the CLI (docs/tls.md). The global fetch is not
 * used: its undici agent cannot be given a custom CA without the undici package. The server's
 * certificate is checked against the CAs in `tls` only (tlsOptionsFor: the hierarchy CA, never the
 * system store); every response has a byte limit and every request a deadline (C6).
 */
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import { algorithms } from '../algorithms.js';
import { sha256Hex } from '../digest.js';
import { StewardError } from '../errors.js';
import { TooLargeError } from '../trust-errors.js';
import type { TlsClientOptions } from './client-options.js';
import {
  HttpsRequestError,
  HttpsUrlError,
  TlsClientRefusedError,
  TlsServerUntrustedError,
} from './tls-errors.js';
import { spkiDer } from './tls-key.js';

/** Default response byte limit and deadline. */
export const defaultMaxResponseBytes = 4 * 1024 * 1024;
export const defaultHttpsTimeoutMs = 30_000;

export type HttpsFetchOptions = {
  method?: string;
  headers?: Readonly<Record<string, string>>;
  body?: string | Uint8Array;
  /** C6: the response body is cut off with ERR_TOO_LARGE past this many bytes. */
  maxBytes?: number;
  /** The whole exchange, connection to last byte, must finish within this time. */
  timeoutMs?: number;
  /** From tlsOptionsFor: the CAs to trust and the client certificate to present. */
  tls: TlsClientOptions;
};

/** A response: status, headers (lower-case names, repeated ones joined with ", ") and body. */
export type HttpsResponse = { status: number; headers: Record<string, string>; body: Uint8Array };

/** OpenSSL's verification results and node's name check: the server's certificate is not trusted. */
const serverVerificationCodes: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** TLS alerts a server sends when it refuses the client's certificate. */
const clientRefusedAlert =
  /ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)$/;

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function parseHttpsUrl(input: string | URL): URL {
  const text = input.toString();
  if (text.length > 8192 || !URL.canParse(text))
    throw new HttpsUrlError('The URL is not a valid absolute URL.');
  const url = new URL(text);
  if (url.protocol !== 'https:') {
    throw new HttpsUrlError(`Only https URLs are fetched here, not ${url.protocol.slice(0, 16)} URLs.`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new HttpsUrlError('The URL must not carry a user name or password.');
  }
  return url;
}

/** Turns a socket or TLS failure into a Steward error (already Steward errors pass through). */
function describeFailure(error: unknown, url: URL, state: { secured: boolean; withClientCert: boolean }) {
  if (error instanceof StewardError) return error;
  const code = errorCode(error);
  const where = url.host;
  if (serverVerificationCodes.has(code)) {
    return new TlsServerUntrustedError(
      `The server ${where} presented a certificate this hierarchy's CA does not vouch for (${code}); ` +
        'it may belong to another hierarchy, have expired, or not name this host.',
      { cause: error },
    );
  }
  if (clientRefusedAlert.test(code)) {
    return new TlsClientRefusedError(
      `The server ${where} refused this client's certificate during the TLS handshake (${code}).`,
      { cause: error },
    );
  }
  const hint =
    state.secured && state.withClientCert
      ? ' right after the TLS handshake; the server may have refused this client certificate (revoked?)'
      : '';
  return new HttpsRequestError(`The HTTPS request to ${where} failed${hint} (${code || 'no code'}).`, {
    cause: error,
  });
}

function headersOf(response: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** The request options both fetches share: method, headers with the body's length, and the body. */
function prepareRequest(options: {
  method?: string;
  headers?: Readonly<Record<string, string>>;
  body?: string | Uint8Array;
}) {
  const method = (options.method ?? 'GET').toUpperCase();
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? Buffer.from(options.body, 'utf8')
        : Buffer.from(options.body.buffer, options.body.byteOffset, options.body.byteLength);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (name.toLowerCase() !== 'content-length') headers[name] = value;
  }
  if (body !== undefined) headers['content-length'] = String(body.byteLength);
  return { method, headers, body };
}

function checkLimits(maxBytes: number, timeoutMs: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError('httpsFetch: maxBytes');
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError('httpsFetch: timeoutMs');
}

/** One buffered exchange with the given node TLS options; `onSecure` sees the socket once secured. */
function bufferedExchange(
  url: URL,
  options: Omit<HttpsFetchOptions, 'tls'>,
  tlsOptions: RequestOptions,
  withClientCert: boolean,
  onSecure?: (socket: TLSSocket) => void,
): Promise<HttpsResponse> {
  const maxBytes = options.maxBytes ?? defaultMaxResponseBytes;
  const timeoutMs = options.timeoutMs ?? defaultHttpsTimeoutMs;
  checkLimits(maxBytes, timeoutMs);
  const { method, headers, body } = prepareRequest(options);
  const state = { secured: false, withClientCert };

  return new Promise<HttpsResponse>((resolve, reject) => {
    let settled = false;
    const settle = (error: unknown, response?: HttpsResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (response !== undefined && error === undefined) resolve(response);
      else reject(describeFailure(error, url, state));
    };
    const request = httpsRequest(url, { ...tlsOptions, method, headers, agent: false }, (response) => {
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        settle(tooLarge(url, maxBytes));
        request.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      response.on('data', (chunk: Buffer) => {
        total += chunk.byteLength;
        if (total <= maxBytes) {
          chunks.push(chunk);
          return;
        }
        settle(tooLarge(url, maxBytes));
        request.destroy();
      });
      response.on('end', () => {
        settle(undefined, {
          status: response.statusCode ?? 0,
          headers: headersOf(response),
          body: new Uint8Array(Buffer.concat(chunks, total)),
        });
      });
      response.on('error', (error) => settle(error));
      response.on('close', () => {
        if (!response.complete) {
          settle(
            new HttpsRequestError(`The connection to ${url.host} closed before the whole response arrived.`),
          );
        }
      });
    });
    const timer = setTimeout(() => {
      request.destroy(
        new HttpsRequestError(`The HTTPS request to ${url.host} timed out after ${timeoutMs} ms.`),
      );
    }, timeoutMs);
    request.on('socket', (socket) => {
      socket.once('secureConnect', () => {
        state.secured = true;
        if (socket instanceof TLSSocket) onSecure?.(socket);
      });
    });
    request.on('error', (error) => settle(error));
    request.end(body);
  });
}

/**
 * Sends one HTTPS request and reads the whole response. Errors: ERR_HTTPS_URL (not https),
 * ERR_TLS_SERVER_UNTRUSTED (server certificate), ERR_TLS_CLIENT_REFUSED (our certificate),
 * ERR_TOO_LARGE (response over maxBytes), ERR_HTTPS_FAILED (network, timeout; retryable). An HTTP
 * error status is a response, not an error.
 */
export async function httpsFetch(input: string | URL, options: HttpsFetchOptions): Promise<HttpsResponse> {
  const url = parseHttpsUrl(input);
  return bufferedExchange(url, options, { ...options.tls }, options.tls.cert !== undefined);
}

/** A response read without validating the server: also the SHA-256 of the server's public key. */
export type UnverifiedHttpsResponse = HttpsResponse & {
  /** Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER of the server's certificate. */
  serverPublicKeySha256: string;
};

/**
 * DANGER, for one purpose only: enrolment before the agent holds the root (docs/tls.md). Fetches
 * over TLS WITHOUT validating the server's certificate, and reports which public key the server
 * presented. The caller must verify everything it reads (the root chain against its pin, C1, and the
 * CA endorsement against that root), then re-connect with httpsFetch, validating against the
 * endorsed CA and requiring this same public key (`tlsOptionsFor({ serverPublicKeySha256 })`).
 * Nothing secret may be sent here, and no client certificate is presented.
 */
export async function httpsFetchUnverified(
  input: string | URL,
  options: Omit<HttpsFetchOptions, 'tls' | 'body'>,
): Promise<UnverifiedHttpsResponse> {
  const url = parseHttpsUrl(input);
  let serverPublicKeySha256 = '';
  const response = await bufferedExchange(
    url,
    options,
    { rejectUnauthorized: false, minVersion: algorithms.certificate.minTlsVersion },
    false,
    (socket) => {
      const certificate = socket.getPeerX509Certificate();
      if (certificate !== undefined) serverPublicKeySha256 = sha256Hex(spkiDer(certificate.publicKey));
    },
  );
  if (serverPublicKeySha256 === '') {
    throw new TlsServerUntrustedError(`The server ${url.host} presented no certificate.`);
  }
  return { ...response, serverPublicKeySha256 };
}

export type HttpsStreamOptions = {
  method?: string;
  headers?: Readonly<Record<string, string>>;
  /** The whole exchange, connection to last byte, must finish within this time. */
  timeoutMs: number;
  /** The server may stay silent at most this long, while connecting or sending. Default 60 s. */
  idleTimeoutMs?: number;
  tls: TlsClientOptions;
};

/** A streamed response: read `body` to the end (or call `cancel`); its failures are Steward errors. */
export type HttpsStreamResponse = {
  status: number;
  headers: Record<string, string>;
  body: AsyncIterable<Buffer>;
  cancel(): void;
};

/**
 * The streaming variant of httpsFetch, for content downloads: resolves once the status and headers
 * have arrived; the body is read by the caller, who enforces its own byte limit (the content
 * verifier cuts a file off the moment it passes its declared size, C5). Same certificate checks
 * and error codes as httpsFetch; a deadline for the whole exchange and one for silence.
 */
export async function httpsStream(
  input: string | URL,
  options: HttpsStreamOptions,
): Promise<HttpsStreamResponse> {
  const url = parseHttpsUrl(input);
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  checkLimits(0, options.timeoutMs);
  checkLimits(0, idleTimeoutMs);
  const { method, headers } = prepareRequest(options);
  const state = { secured: false, withClientCert: options.tls.cert !== undefined };
  return new Promise<HttpsStreamResponse>((resolve, reject) => {
    let answered = false;
    const request = httpsRequest(url, { ...options.tls, method, headers, agent: false }, (response) => {
      answered = true;
      response.setTimeout(idleTimeoutMs, () => {
        request.destroy(
          new HttpsRequestError(`The server ${url.host} sent nothing for ${idleTimeoutMs} ms.`),
        );
      });
      resolve({
        status: response.statusCode ?? 0,
        headers: headersOf(response),
        body: readStream(response, url, state, () => clearTimeout(timer)),
        cancel: () => {
          clearTimeout(timer);
          request.destroy();
        },
      });
    });
    const timer = setTimeout(() => {
      request.destroy(
        new HttpsRequestError(`The HTTPS request to ${url.host} timed out after ${options.timeoutMs} ms.`),
      );
    }, options.timeoutMs);
    request.setTimeout(idleTimeoutMs, () => {
      request.destroy(new HttpsRequestError(`The server ${url.host} sent nothing for ${idleTimeoutMs} ms.`));
    });
    request.on('socket', (socket) => {
      socket.once('secureConnect', () => {
        state.secured = true;
      });
    });
    request.on('error', (error) => {
      if (!answered) {
        clearTimeout(timer);
        reject(describeFailure(error, url, state));
      }
    });
    request.end();
  });
}

async function* readStream(
  response: IncomingMessage,
  url: URL,
  state: { secured: boolean; withClientCert: boolean },
  done: () => void,
): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of response) yield chunk as Buffer;
    if (!response.complete) {
      throw new HttpsRequestError(`The connection to ${url.host} closed before the whole response arrived.`);
    }
  } catch (error) {
    throw describeFailure(error, url, state);
  } finally {
    done();
    if (!response.complete) response.destroy();
  }
}

function tooLarge(url: URL, maxBytes: number): TooLargeError {
  return new TooLargeError(
    `The response from ${url.host} is larger than ${maxBytes} bytes; refusing the rest.`,
  );
}
