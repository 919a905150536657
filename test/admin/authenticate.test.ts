import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminAuthenticationHook,
  createAccount,
  FailedLoginLimiter,
  grantRights,
  issueApiToken,
  principalOf,
  RateLimitedError,
  requireRight,
} from '../../src/admin/identity/index.js';
import { isStewardError } from '../../src/trust/index.js';
import { describeEachBackend, type OpenedTestDatabase } from '../support/backends.js';

const password = 'correct horse battery';
const basic = (name: string, secret: string): string =>
  `Basic ${Buffer.from(`${name}:${secret}`, 'utf8').toString('base64')}`;

/** A minimal admin API: the hook on every request, StewardError mapped to its status and code. */
function adminApp(database: OpenedTestDatabase, limiter: FailedLoginLimiter): FastifyInstance {
  const app = Fastify();
  app.addHook('onRequest', adminAuthenticationHook(database.db, { limiter }));
  app.setErrorHandler((error, _request, reply) => {
    if (!isStewardError(error)) throw error;
    if (error instanceof RateLimitedError) void reply.header('retry-after', String(error.retryAfterSeconds));
    return reply.status(error.status).send({ code: error.code, message: error.message });
  });
  app.get('/api/v1/whoami', (request) => {
    const { name, via } = principalOf(request);
    return { name, via };
  });
  app.delete('/api/v1/packages/:id', (request) => {
    const { id } = request.params as { id: string };
    requireRight(principalOf(request), 'package', id, 'delete');
    return { deleted: id };
  });
  return app;
}

describeEachBackend('admin API authentication (Fastify inject)', (open) => {
  let database: OpenedTestDatabase;
  let now = 0;
  let limiter: FailedLoginLimiter;
  let app: FastifyInstance;
  let token: string;

  beforeAll(async () => {
    database = await open();
    limiter = new FailedLoginLimiter({ maxFailures: 3, windowMs: 60_000, clock: () => now });
    app = adminApp(database, limiter);
    const alice = await createAccount(database.db, { name: 'alice', password });
    await grantRights(database.db, alice.id, 'package', 'P1', ['delete']);
    token = (await issueApiToken(database.db, alice.id, { name: 'ci' })).token;
    await createAccount(database.db, { name: 'bob', password });
  });
  afterAll(async () => {
    await app.close();
    await database.discard();
  });

  const get = (authorization?: string, remoteAddress = '192.0.2.1') =>
    app.inject({
      method: 'GET',
      url: '/api/v1/whoami',
      remoteAddress,
      ...(authorization === undefined ? {} : { headers: { authorization } }),
    });

  it('accepts a Bearer API token', async () => {
    const response = await get(`Bearer ${token}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ name: 'alice', via: 'token' });
  });

  it('accepts Basic credentials, with the scheme in any case', async () => {
    const response = await get(basic('alice', password).replace('Basic', 'bASIC'));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ name: 'alice', via: 'password' });
  });

  it('refuses a request without an Authorization header with 401 ERR_UNAUTHENTICATED', async () => {
    const response = await get();
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'ERR_UNAUTHENTICATED' });
  });

  it('refuses malformed headers with 401', async () => {
    for (const header of [
      'Bearer',
      'Token abc',
      'Basic !!!notbase64',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Basic ${Buffer.from(':emptyname').toString('base64')}`,
      `Bearer ${token} extra`,
      `Bearer ${'x'.repeat(5000)}`,
    ]) {
      const response = await get(header, '198.51.100.7');
      expect(response.statusCode, header).toBe(401);
      expect(response.json()).toMatchObject({ code: 'ERR_UNAUTHENTICATED' });
      now += 60_000; // a fresh window each time: this test is about parsing, not limiting
    }
  });

  it('answers an unknown name and a wrong password with the same 401 body', async () => {
    const unknown = await get(basic('mallory', password), '198.51.100.8');
    const wrong = await get(basic('bob', 'wrong password!'), '198.51.100.9');
    expect(unknown.statusCode).toBe(401);
    expect(wrong.statusCode).toBe(401);
    expect(unknown.json()).toEqual(wrong.json());
  });

  it('answers 403 ERR_FORBIDDEN naming the missing right, and allows the granted one', async () => {
    const allowed = await app.inject({
      method: 'DELETE',
      url: '/api/v1/packages/P1',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(allowed.statusCode).toBe(200);
    const refused = await app.inject({
      method: 'DELETE',
      url: '/api/v1/packages/P2',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({
      code: 'ERR_FORBIDDEN',
      message: 'Account "alice" lacks the right "delete" on package "P2".',
    });
  });

  it('rate-limits failed logins per account name, even the right password, until the window ends', async () => {
    now += 120_000;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect((await get(basic('bob', 'wrong password!'), `203.0.113.${attempt}`)).statusCode).toBe(401);
    }
    const limited = await get(basic('bob', password), '203.0.113.50');
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'ERR_RATE_LIMITED' });
    expect(limited.headers['retry-after']).toBe('60');
    expect((await get(basic('alice', password), '203.0.113.51')).statusCode).toBe(200);
    now += 60_000;
    expect((await get(basic('bob', password), '203.0.113.50')).statusCode).toBe(200);
  });

  it('rate-limits failed logins per remote address, tokens included', async () => {
    now += 120_000;
    for (const name of ['x1', 'x2', 'x3']) {
      expect((await get(basic(name, 'wrong password!'), '203.0.113.99')).statusCode).toBe(401);
    }
    expect((await get(`Bearer ${token}`, '203.0.113.99')).statusCode).toBe(429);
    expect((await get(`Bearer ${token}`, '203.0.113.100')).statusCode).toBe(200);
  });
});

describe('failed-login limiter', () => {
  it('keeps at most maxKeys windows, dropping the oldest', () => {
    const limiter = new FailedLoginLimiter({ maxFailures: 1, maxKeys: 2, clock: () => 0 });
    limiter.recordFailure({ address: 'a' });
    limiter.recordFailure({ address: 'b' });
    limiter.recordFailure({ address: 'c' });
    expect(() => limiter.check({ address: 'a' })).not.toThrow();
    expect(() => limiter.check({ address: 'c' })).toThrow(RateLimitedError);
  });

  it('counts account names case-insensitively and clears the name on success', () => {
    const limiter = new FailedLoginLimiter({ maxFailures: 2, clock: () => 0 });
    limiter.recordFailure({ name: 'Bob' });
    limiter.recordFailure({ name: 'bob' });
    expect(() => limiter.check({ name: 'BOB' })).toThrow(RateLimitedError);
    limiter.recordSuccess({ name: 'bob' });
    expect(() => limiter.check({ name: 'bob' })).not.toThrow();
  });
});
