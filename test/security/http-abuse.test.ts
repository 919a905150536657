/**
 * Issue 5, attack 9: HTTP abuse against a real site process (`steward site start`) over loopback
 * sockets: oversized bodies, deeply nested JSON, slow clients and malformed headers. After each one
 * the site answered no 5xx and a registered client's normal policy poll and report still succeed.
 * The site runs with STEWARD_SITE_REQUEST_TIMEOUT=2 (seconds) so that slow clients are cut off
 * within the test; the default is 120 (docs/configuration.md).
 */
import { rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  managementPointPaths,
  reportBatchAnswerSchema,
  serverLocatorPaths,
} from '../../src/protocol/index.js';
import { encodeEnvelope, signEnvelope } from '../../src/trust/index.js';
import {
  allStatuses,
  firstStatus,
  httpRequest,
  rawExchange,
  sleep,
  writeAsync,
  type HttpAnswer,
  type RawExchange,
} from '../support/http-client.js';
import { createSiteProcessWith, type KillableSiteProcess } from '../support/site-process-options.js';
import { stopAllStewardProcesses } from '../support/steward-process.js';
import { TestClient } from '../support/test-pki.js';

const siteCode = 'SCC';
const requestTimeoutSeconds = 2;
let site: KillableSiteProcess;
const client = new TestClient('abuse-witness', siteCode);

/** A registered client's ordinary work: a policy poll and a heartbeat, both answered in time. */
async function othersStillServed(): Promise<void> {
  const started = performance.now();
  const policy = await httpRequest(`${site.url}${managementPointPaths.policy(client.id)}`, {
    timeoutMs: 5000,
  });
  expect(policy.status).toBe(200);
  const reports = await httpRequest(`${site.url}${managementPointPaths.reports}`, {
    body: { reports: [client.heartbeat().encoded] },
    timeoutMs: 5000,
  });
  expect(reports.status).toBe(200);
  expect(reportBatchAnswerSchema.parse(reports.json()).results[0]?.status).toBe('stored');
  expect(performance.now() - started).toBeLessThan(5000);
}

function expectClientError(what: string, answer: HttpAnswer, codes?: readonly string[]): void {
  expect({ what, status: answer.status >= 400 && answer.status < 500 }).toEqual({ what, status: true });
  if (codes !== undefined) {
    const code = (answer.json() as { error: { code: string } }).error.code;
    expect({ what, known: codes.includes(code) }).toEqual({ what, known: true });
  }
}

const host = () => new URL(site.url).hostname;
const port = () => Number(new URL(site.url).port);

/**
 * Sends raw bytes, then half-closes the socket (the server answers what it read and closes), and
 * returns the statuses the server answered and how the connection ended.
 */
async function raw(bytes: string | Buffer, giveUpMs = 5000, halfClose = true) {
  return rawExchange(
    host(),
    port(),
    async (socket) => {
      await writeAsync(socket, bytes);
      if (halfClose) socket.end();
    },
    giveUpMs,
  );
}

/**
 * Runs an oversized upload until its 413 is seen, at most three times. A site that refuses a body
 * closes the connection while the client may still be writing; the client's kernel may then drop
 * the answer with the reset (no HTTP status seen). Any status other than 413 fails at once.
 */
async function refusedAsTooLarge(exchange: () => Promise<RawExchange>): Promise<RawExchange> {
  let last: RawExchange | undefined;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    last = await exchange();
    const status = firstStatus(last.received);
    if (status !== undefined) {
      expect(status).toBe(413);
      return last;
    }
  }
  throw new Error(`no answer to an oversized upload in three attempts (${last?.ending ?? 'none'})`);
}

beforeAll(async () => {
  site = await createSiteProcessWith(siteCode, {
    env: { STEWARD_SITE_REQUEST_TIMEOUT: String(requestTimeoutSeconds) },
  });
  const answer = await httpRequest(`${site.url}${managementPointPaths.register}`, {
    body: { registration: client.registration({ enrolmentToken: site.init.enrolmentToken }) },
  });
  expect(answer.json()).toMatchObject({ state: 'approved' });
});

afterAll(async () => {
  await stopAllStewardProcesses();
  const started = site as KillableSiteProcess | undefined;
  if (started !== undefined) await rm(started.dir, { recursive: true, force: true });
});

describe('attack 9: HTTP abuse against a real site process', { timeout: 60_000 }, () => {
  it('C6 oversized bodies are refused with 413 ERR_TOO_LARGE before they are read, on every kind of endpoint', async () => {
    const big = (bytes: number) => JSON.stringify({ registration: 'x'.repeat(bytes) });
    const cases: [string, string, string, Record<string, string>][] = [
      ['register over 4 MiB', managementPointPaths.register, big(5 * 1024 * 1024), {}],
      ['reports over 16 MiB', managementPointPaths.reports, big(17 * 1024 * 1024), {}],
      ['locate over 8 KiB', serverLocatorPaths.locate, big(9 * 1024), {}],
      [
        'admin over 1 MiB',
        '/api/v1/collections',
        big(2 * 1024 * 1024),
        { authorization: `Bearer ${site.token}` },
      ],
      ['console sign-in over 1 MiB', '/console/session', big(17 * 1024 * 1024), {}],
    ];
    for (const [what, path, body, headers] of cases) {
      // Over a raw socket: the site answers 413 and closes while the body is still being written,
      // which an HTTP client library reports as EPIPE instead of the answer.
      const head = [
        `POST ${path} HTTP/1.1`,
        'Host: x',
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      ].join('\r\n');
      const exchange = await refusedAsTooLarge(() =>
        rawExchange(
          host(),
          port(),
          async (socket, closed, received) => {
            await writeAsync(socket, `${head}\r\n\r\n`);
            // The declared length is over the limit: the answer comes without a byte of the body.
            for (let waited = 0; waited < 3000 && received() === 0 && !closed(); waited += 50)
              await sleep(50);
            // Stop writing once the site answered: it refused after the headers, without reading the body.
            const bytes = Buffer.from(body);
            for (let at = 0; at < bytes.length && !closed() && received() === 0; at += 64 * 1024)
              await writeAsync(socket, bytes.subarray(at, at + 64 * 1024));
          },
          10_000,
        ),
      );
      expect({ what, status: firstStatus(exchange.received) }).toEqual({ what, status: 413 });
      expect(exchange.received).toContain('"code":"ERR_TOO_LARGE"');
      await othersStillServed();
    }
    // A declared length far past the limit is refused at once, without waiting for the bytes.
    const declared = await refusedAsTooLarge(() =>
      raw(
        `POST ${managementPointPaths.reports} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${1024 ** 3}\r\n\r\n{"reports":[`,
        5000,
        false,
      ),
    );
    expect(firstStatus(declared.received)).toBe(413);
    expect(declared.elapsedMs).toBeLessThan(2000);
    // A chunked body without a length is cut off once it passes the limit.
    const chunked = await refusedAsTooLarge(() =>
      rawExchange(
        host(),
        port(),
        async (socket, closed, received) => {
          await writeAsync(
            socket,
            `POST ${managementPointPaths.register} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
          );
          const chunk = Buffer.alloc(64 * 1024, 0x61);
          for (let sent = 0; sent < 8 * 1024 * 1024 && !closed() && received() === 0; sent += chunk.length) {
            await writeAsync(socket, `${chunk.length.toString(16)}\r\n`);
            await writeAsync(socket, chunk);
            await writeAsync(socket, '\r\n');
          }
        },
        10_000,
      ),
    );
    expect(firstStatus(chunked.received)).toBe(413);
    await othersStillServed();
  });

  it('C6 deeply nested JSON (100k levels) is refused quickly with 400 wherever a body is read, signed payloads included', async () => {
    const arrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const objects = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    const admin = { authorization: `Bearer ${site.token}` };
    const cases: [string, string, string, Record<string, string>][] = [
      ['register, arrays', managementPointPaths.register, `{"registration":${arrays(100_000)}}`, {}],
      ['register, objects', managementPointPaths.register, objects(100_000), {}],
      ['reports, 1 MiB of arrays', managementPointPaths.reports, `{"reports":${arrays(500_000)}}`, {}],
      ['locate, arrays', serverLocatorPaths.locate, `{"addresses":${arrays(4000)}}`, {}],
      ['admin, arrays', '/api/v1/collections', `{"name":"n","clientIds":${arrays(100_000)}}`, admin],
      ['admin preview, objects', '/api/v1/collections/preview', objects(100_000), admin],
      ['admin deployment, objects', '/api/v1/deployments', `{"packageId":${objects(100_000)}}`, admin],
      ['console sign-in, arrays', '/console/session', arrays(100_000), {}],
    ];
    for (const [what, path, body, headers] of cases) {
      const started = performance.now();
      const answer = await httpRequest(`${site.url}${path}`, {
        body,
        headers: { 'content-type': 'application/json', ...headers },
      });
      expectClientError(what, answer);
      expect({ what, fast: performance.now() - started < 3000 }).toEqual({ what, fast: true });
    }
    // A correctly signed report whose body nests 100k levels: refused per report (C6, 16 levels).
    const payload = Buffer.from(
      JSON.stringify({
        kind: 'client-report',
        sequence: 1,
        messageId: 'deep-1',
        clientId: client.id,
        siteCode,
        reportType: 'status',
        body: { messages: 0 },
        issuedAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      }).replace('"messages":0', `"messages":${arrays(100_000)}`),
    );
    const envelope = encodeEnvelope(
      signEnvelope('application/vnd.steward.client-report+json', payload, [client.key]),
    );
    const answer = await httpRequest(`${site.url}${managementPointPaths.reports}`, {
      body: { reports: [envelope] },
    });
    expect(answer.status).toBe(200);
    expect(reportBatchAnswerSchema.parse(answer.json()).results).toEqual([
      { messageId: null, status: 'rejected', code: 'ERR_PAYLOAD_INVALID' },
    ]);
    await othersStillServed();
  });

  it('slow clients are cut off after the request timeout while every other client is served', async () => {
    const limitMs = requestTimeoutSeconds * 1000;
    const slowHeaders = (socket: Socket, closed: () => boolean) =>
      (async () => {
        for (const byte of `GET ${managementPointPaths.policy(client.id)} HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(10_000)}`) {
          if (closed()) return;
          await writeAsync(socket, byte);
          await sleep(100);
        }
      })();
    const stalledBody = async (socket: Socket) => {
      await writeAsync(
        socket,
        `POST ${managementPointPaths.reports} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"reports":[`,
      );
    };
    const silent = () => Promise.resolve();
    const headersOnly = async (socket: Socket) => {
      await writeAsync(socket, `GET /health HTTP/1.1\r\nHost: x\r\n`);
    };
    // 150 slow sockets at once, a third of each kind, while a client keeps working.
    const slow = Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        rawExchange(host(), port(), [slowHeaders, stalledBody, silent, headersOnly][i % 4] ?? silent, 20_000),
      ),
    );
    await sleep(500);
    const served: number[] = [];
    const deadline = Date.now() + limitMs;
    while (Date.now() < deadline) {
      const started = performance.now();
      await othersStillServed();
      served.push(performance.now() - started);
    }
    const exchanges = await slow;
    const endings = new Map<string, number>();
    for (const exchange of exchanges) {
      const key = `${exchange.ending} ${firstStatus(exchange.received) ?? 'no answer'}`;
      endings.set(key, (endings.get(key) ?? 0) + 1);
    }
    const longest = Math.max(...exchanges.map((e) => e.elapsedMs));
    console.log(
      `slow clients: ${JSON.stringify(Object.fromEntries(endings))}, longest held ${longest} ms ` +
        `(timeout ${limitMs} ms); meanwhile ${served.length} poll+report rounds, slowest ${Math.round(Math.max(...served))} ms`,
    );
    for (const exchange of exchanges) {
      expect(exchange.ending).not.toBe('gave-up');
      const status = firstStatus(exchange.received);
      if (status !== undefined) {
        expect(status).toBe(408);
        expect(exchange.received).toContain('"code":"ERR_REQUEST_TIMEOUT"');
      }
    }
    expect(longest).toBeLessThan(limitMs * 3 + 2000);
    expect(served.length).toBeGreaterThan(0);
    await othersStillServed();
  });

  it('malformed headers and request lines are 4xx (never 5xx), and the site keeps serving', async () => {
    const poll = `GET ${managementPointPaths.policy(client.id)} HTTP/1.1`;
    const cases: [string, string][] = [
      ['a header name with a space', `${poll}\r\nHost: x\r\nBad Header: 1\r\n\r\n`],
      ['a header line without a colon', `${poll}\r\nHost: x\r\nNoColonHere\r\n\r\n`],
      ['a control character in a value', `${poll}\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n`],
      ['bare LF line ends', `${poll}\nHost: x\n\n`],
      [
        'two different Content-Lengths',
        `POST ${managementPointPaths.reports} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n{"a":1}`,
      ],
      [
        'a Content-Length that is not a number',
        `POST ${managementPointPaths.reports} HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n`,
      ],
      [
        'a negative Content-Length',
        `POST ${managementPointPaths.reports} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`,
      ],
      [
        'chunked and Content-Length together (smuggling)',
        `POST ${managementPointPaths.reports} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      ],
      [
        'an invalid chunk size',
        `POST ${managementPointPaths.reports} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      ],
      [
        'an unknown transfer coding',
        `POST ${managementPointPaths.reports} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
      ],
      ['no Host header', `${poll}\r\n\r\n`],
      ['headers over 16 KiB', `${poll}\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`],
      ['a 100 KiB URL', `GET /mp/v1/clients/${'c'.repeat(100_000)}/policy HTTP/1.1\r\nHost: x\r\n\r\n`],
      ['a NUL in the URL', `GET /mp/v1/tr\u0000ust HTTP/1.1\r\nHost: x\r\n\r\n`],
      ['an unknown method', `BREW ${managementPointPaths.trust} HTTP/1.1\r\nHost: x\r\n\r\n`],
      ['an unknown HTTP version', `GET ${managementPointPaths.trust} HTTP/9.9\r\nHost: x\r\n\r\n`],
      ['an HTTP/0.9 request line', `GET ${managementPointPaths.trust}\r\n\r\n`],
      ['binary garbage', '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u01fc\u0003\u0003 not TLS here\r\n\r\n'],
      [
        'an absolute-form URL to another host',
        `GET http://evil.example/mp/v1/trust HTTP/1.1\r\nHost: evil.example\r\n\r\n`,
      ],
      [
        'a percent-encoding that does not decode',
        `GET /mp/v1/clients/%E0%A4%A/policy HTTP/1.1\r\nHost: x\r\n\r\n`,
      ],
      [
        'a JSON body declared as UTF-16',
        `POST ${managementPointPaths.register} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json; charset=utf-16\r\nContent-Length: 2\r\n\r\n{}`,
      ],
      [
        'an empty Content-Type',
        `POST ${managementPointPaths.register} HTTP/1.1\r\nHost: x\r\nContent-Type: \r\nContent-Length: 2\r\n\r\n{}`,
      ],
      [
        'a 16 KiB Authorization header',
        `GET /api/v1/site HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'z'.repeat(15_000)}\r\n\r\n`,
      ],
      [
        'a Basic header that is not base64',
        `GET /api/v1/site HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \u00ff\u00fe==\r\n\r\n`,
      ],
      ['an If-None-Match of 8 KiB', `${poll}\r\nHost: x\r\nIf-None-Match: "${'e'.repeat(8000)}"\r\n\r\n`],
      ['a Range header on a policy', `${poll}\r\nHost: x\r\nRange: bytes=99999999-\r\n\r\n`],
      [
        '2000 headers',
        `${poll}\r\nHost: x\r\n${Array.from({ length: 2000 }, (_, i) => `X-H${i}: ${i}\r\n`).join('')}\r\n`,
      ],
    ];
    const outcomes: string[] = [];
    for (const [what, bytes] of cases) {
      const exchange = await raw(Buffer.from(bytes, 'latin1'));
      const statuses = allStatuses(exchange.received);
      outcomes.push(`${what}: ${statuses.join(',') || exchange.ending}`);
      expect({ what, gaveUp: exchange.ending === 'gave-up' && statuses.length === 0 }).toEqual({
        what,
        gaveUp: false,
      });
      for (const status of statuses) expect({ what, status: status < 500 }).toEqual({ what, status: true });
      // Every refusal, the HTTP parser's included, carries the JSON error body with a stable code.
      const refusals = statuses.filter((status) => status >= 400).length;
      const bodies = [
        ...exchange.received.matchAll(
          /\{"error":\{"code":"(ERR_[A-Z_]+)","message":"[^"]*","retryable":(true|false)\}\}/g,
        ),
      ];
      // Node's http server answers a missing Host itself (400, no body), before any handler.
      if (what !== 'no Host header')
        expect({ what, errorBodies: bodies.length }).toEqual({ what, errorBodies: refusals });
      await othersStillServed();
    }
    console.log(`malformed requests:\n  ${outcomes.join('\n  ')}`);
  });
});
