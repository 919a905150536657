import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isStewardError } from '../../trust/index.js';
import type { ErrorBody } from '../../protocol/index.js';
import { isDatabaseUnavailable } from '../database/database-unavailable.js';

/**
 * The one place where errors become HTTP answers: a StewardError carries its status and stable
 * code; Fastify's own refusals (body too large, malformed JSON, wrong content type) get codes of
 * their own; a database server that cannot be reached is 503 ERR_DATABASE (retryable); anything
 * else is a 500 whose details go to the log only.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request, reply) => {
    const { status, body } = errorAnswer(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.code(status).type('application/json').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send(
        answer(
          'ERR_NOT_FOUND',
          `no such endpoint: ${request.method} ${request.url.split('?')[0] ?? ''}`,
          false,
        ),
      );
  });
}

/**
 * Fastify's `frameworkErrors` option: the router's own refusals (a URL that does not decode, a path
 * parameter over the length limit) bypass the error handler unless routed here, and would otherwise
 * answer without the `{error:{code,message,retryable}}` body.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = errorAnswer(error);
  void reply.code(status).type('application/json').send(body);
}

/**
 * Fastify's `clientErrorHandler` option: requests the HTTP parser refuses before any route sees them
 * (a malformed request line or header, conflicting lengths, headers over 16 KiB, a client too slow
 * to send its request) get the same `{error:{code,message,retryable}}` body as every other refusal,
 * then the connection is closed.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, body] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', answer('ERR_REQUEST_TIMEOUT', 'the request was not received in time', true)]
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [
            431,
            'Request Header Fields Too Large',
            answer('ERR_MALFORMED_REQUEST', 'the request headers are too large', false),
          ]
        : [400, 'Bad Request', answer('ERR_MALFORMED_REQUEST', 'the request is not valid HTTP', false)];
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy();
}

const fastifyCodes: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_BAD_URL: { status: 400, code: 'ERR_MALFORMED_REQUEST', message: 'the URL is not valid' },
  FST_ERR_MAX_PARAM_LENGTH: {
    status: 400,
    code: 'ERR_MALFORMED_REQUEST',
    message: 'a path segment of the URL is too long',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'ERR_TOO_LARGE',
    message: 'the request body is too large',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
    message: 'the request body must be application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'ERR_MALFORMED_REQUEST',
    message: 'the Content-Length does not match the body',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'ERR_MALFORMED_JSON', message: 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'ERR_MALFORMED_JSON',
    message: 'the body is not valid JSON',
  },
};

export function errorAnswer(error: unknown): { status: number; body: ErrorBody } {
  if (isStewardError(error)) {
    return { status: error.status, body: answer(error.code, error.message, error.retryable) };
  }
  // `throw null` (or a promise rejected with nothing) must still become an answer.
  const fastifyError = (error ?? {}) as Partial<FastifyError>;
  const known = fastifyError.code === undefined ? undefined : fastifyCodes[fastifyError.code];
  if (known !== undefined) return { status: known.status, body: answer(known.code, known.message, false) };
  if (isDatabaseUnavailable(error)) {
    // The database server is down or restarting: the same request succeeds once it is back.
    return {
      status: 503,
      body: answer('ERR_DATABASE', 'the site database cannot be reached; retry later', true),
    };
  }
  if (error instanceof SyntaxError) {
    return { status: 400, body: answer('ERR_MALFORMED_JSON', 'the body is not valid JSON', false) };
  }
  if (
    typeof fastifyError.statusCode === 'number' &&
    fastifyError.statusCode >= 400 &&
    fastifyError.statusCode < 500
  ) {
    return {
      status: fastifyError.statusCode,
      body: answer('ERR_MALFORMED_REQUEST', fastifyError.message ?? 'the request is malformed', false),
    };
  }
  return { status: 500, body: answer('ERR_INTERNAL', 'internal error; see the site server log', true) };
}

function answer(code: string, message: string, retryable: boolean): ErrorBody {
  return { error: { code, message, retryable } };
}
