/**
 * The site serves the web console at /console (issue 8, item 1): the built files with their content
 * types and the security headers, index.html for every page path, a clear 404 when the console is
 * not built, and the sign-in that exchanges a name and password for a short-lived console token.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/admin/audit-log/index.js';
import {
  consoleSecurityHeaders,
  defaultConsoleDir,
  registerConsole,
} from '../../src/site/http/console-routes.js';
import { installErrorHandler } from '../../src/site/http/error-handler.js';
import { startTestSite, type TestSite } from '../support/site-fixture.js';

let site: TestSite;
const consoleDir = resolve(import.meta.dirname, '../../console/dist');

function basic(name: string, password: string): string {
  return `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
}

function expectSecurityHeaders(headers: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(consoleSecurityHeaders)) expect(headers[name]).toBe(value);
  expect(headers['content-security-policy']).toContain("default-src 'self'");
  expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
}

beforeAll(async () => {
  site = await startTestSite({ code: 'CON' });
});

afterAll(async () => {
  await site.stop();
});

describe('the console files', () => {
  it('finds console/dist beside package.json, from src/ and from dist/', () => {
    expect(defaultConsoleDir()).toBe(consoleDir);
    expect(defaultConsoleDir(resolve(import.meta.dirname, '../../dist'))).toBe(consoleDir);
  });

  it('redirects / and /console to /console/', async () => {
    for (const url of ['/', '/console']) {
      const response = await site.inject({ method: 'GET', url, token: null });
      expect(response.statusCode).toBe(302);
      expect(response.headers.location).toBe('/console/');
    }
  });

  it('serves index.html for the console and for every page path, with the security headers', async () => {
    for (const url of ['/console/', '/console/clients', '/console/deployments/abc?x=1']) {
      const response = await site.inject({ method: 'GET', url, token: null });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.body).toContain('<div id="root"></div>');
      expectSecurityHeaders(response.headers);
    }
  });

  it('serves the built assets with their content types, cached for good (their names carry a hash)', async () => {
    const assets = await readdir(join(consoleDir, 'assets'));
    const script = assets.find((name) => name.endsWith('.js'));
    const style = assets.find((name) => name.endsWith('.css'));
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    const js = await site.inject({ method: 'GET', url: `/console/assets/${script ?? ''}`, token: null });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/^(text|application)\/javascript/);
    expect(js.headers['cache-control']).toContain('immutable');
    expectSecurityHeaders(js.headers);
    const css = await site.inject({ method: 'GET', url: `/console/assets/${style ?? ''}`, token: null });
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    const icon = await site.inject({ method: 'GET', url: '/console/favicon.svg', token: null });
    expect(icon.headers['content-type']).toMatch(/^image\/svg\+xml/);
  });

  it('answers a missing file, a dot file or a path out of the folder with a 404, never index.html', async () => {
    for (const url of [
      '/console/assets/missing-0000.js',
      '/console/missing.png',
      '/console/..%2f..%2fpackage.json',
      '/console/assets%2f..%2f..%2f..%2fpackage.json',
      '/console/.env',
    ]) {
      const response = await site.inject({ method: 'GET', url, token: null });
      expect(response.statusCode, url).toBe(404);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('ERR_NOT_FOUND');
      expectSecurityHeaders(response.headers);
    }
    // The router itself resolves dot segments: this one leaves /console and finds nothing there.
    const outside = await site.inject({ method: 'GET', url: '/console/%2e%2e/package.json', token: null });
    expect(outside.statusCode).toBe(404);
    expect(outside.body).not.toContain('steward');
  });

  it('answers 404 with what to run until the console is built, then serves it without a restart', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'steward-console-'));
    const app = Fastify({ logger: false });
    installErrorHandler(app);
    await registerConsole(app, { db: site.site.database.db, siteCode: 'CON', distDir: empty });
    try {
      for (const url of ['/console', '/console/', '/console/clients']) {
        const response = await app.inject({ method: 'GET', url });
        expect(response.statusCode, url).toBe(404);
        const body = response.json<{ error: { code: string; message: string } }>();
        expect(body.error.code).toBe('ERR_NOT_FOUND');
        expect(body.error.message).toContain('npm run build:console');
        expectSecurityHeaders(response.headers);
      }
      // Building the console later needs no restart of the site.
      await writeFile(join(empty, 'index.html'), '<!doctype html><div id="root"></div>\n');
      const built = await app.inject({ method: 'GET', url: '/console/clients' });
      expect(built.statusCode).toBe(200);
      expect(built.body).toContain('<div id="root"></div>');
    } finally {
      await app.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('console sign-in', () => {
  it('exchanges a name and password for an 8-hour token with the account’s rights, audited', async () => {
    const before = Date.now();
    const response = await site.inject({
      method: 'POST',
      url: '/console/session',
      token: null,
      headers: { authorization: basic('admin', site.password) },
    });
    expect(response.statusCode).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    expectSecurityHeaders(response.headers);
    const session = response.json<{ token: string; sessionId: string; account: string; expiresAt: string }>();
    expect(session.account).toBe('admin');
    expect(session.token).toMatch(/^stw_/);
    const hours = (Date.parse(session.expiresAt) - before) / 3600_000;
    expect(hours).toBeGreaterThan(7.99);
    expect(hours).toBeLessThan(8.01);

    const siteView = await site.inject({ method: 'GET', url: '/api/v1/site', token: session.token });
    expect(siteView.statusCode).toBe(200);

    const audit = await listAudit(site.site.database.db, { afterSeq: 0, limit: 1000 });
    const signIn = audit.find((entry) => entry.action === 'console.sign-in');
    expect(signIn).toMatchObject({ actor: 'admin', objectClass: 'site', objectId: 'CON' });

    const signOut = await site.inject({ method: 'DELETE', url: '/console/session', token: session.token });
    expect(signOut.statusCode).toBe(204);
    const afterSignOut = await site.inject({ method: 'GET', url: '/api/v1/site', token: session.token });
    expect(afterSignOut.statusCode).toBe(401);
    const audited = await listAudit(site.site.database.db, { afterSeq: 0, limit: 1000 });
    expect(audited.some((entry) => entry.action === 'console.sign-out')).toBe(true);
  });

  it('refuses a wrong password, no credentials and a token (a token cannot mint tokens)', async () => {
    const wrong = await site.inject({
      method: 'POST',
      url: '/console/session',
      token: null,
      headers: { authorization: basic('admin', 'not the password') },
      remoteAddress: '10.0.0.7',
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json<{ error: { code: string } }>().error.code).toBe('ERR_UNAUTHENTICATED');
    const none = await site.inject({ method: 'POST', url: '/console/session', token: null });
    expect(none.statusCode).toBe(401);
    const bearer = await site.inject({ method: 'POST', url: '/console/session' });
    expect(bearer.statusCode).toBe(401);
    expect(bearer.json<{ error: { message: string } }>().error.message).toMatch(/name and password/);
  });

  it('ends only console sign-ins: the site init token is not revoked by a sign-out', async () => {
    const response = await site.inject({ method: 'DELETE', url: '/console/session' });
    expect(response.statusCode).toBe(401);
    const still = await site.inject({ method: 'GET', url: '/api/v1/site' });
    expect(still.statusCode).toBe(200);
  });

  it('limits failed sign-ins per address like the admin API', async () => {
    const attempt = () =>
      site.inject({
        method: 'POST',
        url: '/console/session',
        token: null,
        headers: { authorization: basic('nobody', 'guess') },
        remoteAddress: '10.0.0.99',
      });
    const codes: number[] = [];
    for (let i = 0; i < 11; i += 1) codes.push((await attempt()).statusCode);
    expect(codes.slice(0, 10).every((code) => code === 401)).toBe(true);
    expect(codes[10]).toBe(429);
  });
});
