/**
 * A small HTTPS client on node:https for agents and the CLI (docs/tls.md). The global fetch is not
 * used: its undici agent cannot be given a custom CA without the undici package. The server's
 * certificate is checked against the CAs in `tls` only (tlsOptionsFor: the hierarchy CA, never the
 * system store); every response has a byte limit and every request a deadline (C6).
 */
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { StewardError } from '../errors.js';
import { TooLargeError } from '../trust-errors.js';
import type { TlsClientOptions } from './client-options.js';
import {
  HttpsRequestError,
  HttpsUrlError,
  TlsClientRefusedError,
  TlsServerUntrustedError,
} from './tls-errors.js';

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

/**
 * Sends one HTTPS request and reads the whole response. Errors: ERR_HTTPS_URL (not https),
 * ERR_TLS_SERVER_UNTRUSTED (server certificate), ERR_TLS_CLIENT_REFUSED (our certificate),
 * ERR_TOO_LARGE (response over maxBytes), ERR_HTTPS_FAILED (network, timeout; retryable). An HTTP
 * error status is a response, not an error.
 */
export async function httpsFetch(input: string | URL, options: HttpsFetchOptions): Promise<HttpsResponse> {
  const url = parseHttpsUrl(input);
  const maxBytes = options.maxBytes ?? defaultMaxResponseBytes;
  const timeoutMs = options.timeoutMs ?? defaultHttpsTimeoutMs;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError('httpsFetch: maxBytes');
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError('httpsFetch: timeoutMs');
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
  const state = { secured: false, withClientCert: options.tls.cert !== undefined };

  return await new Promise<HttpsResponse>((resolve, reject) => {
    let settled = false;
    const settle = (error: unknown, response?: HttpsResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (response !== undefined && error === undefined) resolve(response);
      else reject(describeFailure(error, url, state));
    };
    const request = httpsRequest(url, { ...options.tls, method, headers, agent: false }, (response) => {
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
      });
    });
    request.on('error', (error) => settle(error));
    request.end(body);
  });
}

function tooLarge(url: URL, maxBytes: number): TooLargeError {
  return new TooLargeError(
    `The response from ${url.host} is larger than ${maxBytes} bytes; refusing the rest.`,
  );
}
