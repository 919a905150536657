/**
 * Which scheme a listener serves (docs/tls.md): HTTPS unless loopback (`auto`), always, or never;
 * plain HTTP on an address other machines reach only with --insecure-http, then reported; and the
 * names the site server's certificate carries.
 */
import { describe, expect, it } from 'vitest';
import { planTransport } from '../../src/site/server/transport.js';
import { serverNames } from '../../src/site/tls/site-tls.js';
import { resolveSettings } from '../../src/platform/settings.js';
import { siteServerSettings } from '../../src/site/site-settings.js';
import { postgresConnection } from '../../src/site/database/open.js';

describe('planTransport', () => {
  it('serves HTTPS by default unless the listener is loopback', () => {
    expect(planTransport('127.0.0.1', { tls: 'auto', insecureHttp: false })).toEqual({
      scheme: 'http',
      insecure: false,
    });
    expect(planTransport('::1', { tls: 'auto', insecureHttp: false }).scheme).toBe('http');
    expect(planTransport('0.0.0.0', { tls: 'auto', insecureHttp: false })).toEqual({
      scheme: 'https',
      insecure: false,
    });
    expect(planTransport('192.0.2.10', { tls: 'auto', insecureHttp: false }).scheme).toBe('https');
  });

  it('serves HTTPS on loopback when told to, and plain HTTP elsewhere only with --insecure-http', () => {
    expect(planTransport('127.0.0.1', { tls: 'always', insecureHttp: false }).scheme).toBe('https');
    expect(() => planTransport('0.0.0.0', { tls: 'never', insecureHttp: false })).toThrow(/--insecure-http/);
    expect(planTransport('0.0.0.0', { tls: 'never', insecureHttp: true })).toEqual({
      scheme: 'http',
      insecure: true,
    });
    expect(planTransport('0.0.0.0', { tls: 'auto', insecureHttp: true })).toEqual({
      scheme: 'http',
      insecure: true,
    });
    expect(planTransport('127.0.0.1', { tls: 'never', insecureHttp: false }).insecure).toBe(false);
    expect(() => planTransport('127.0.0.1', { tls: 'always', insecureHttp: true })).toThrow(/contradict/);
  });

  it('reads the settings as flags and environment variables (a switch takes no value)', () => {
    const fromFlags = resolveSettings(
      siteServerSettings,
      'STEWARD_SITE',
      { insecureHttp: true, tls: 'never' },
      {},
    );
    expect(fromFlags).toMatchObject({ insecureHttp: true, tls: 'never', serverCertificateDays: 90 });
    const fromEnv = resolveSettings(
      siteServerSettings,
      'STEWARD_SITE',
      {},
      { STEWARD_SITE_INSECURE_HTTP: '1' },
    );
    expect(fromEnv.insecureHttp).toBe(true);
    expect(resolveSettings(siteServerSettings, 'STEWARD_SITE', {}, {}).insecureHttp).toBe(false);
    expect(() => resolveSettings(siteServerSettings, 'STEWARD_SITE', { tls: 'sometimes' }, {})).toThrow(
      /--tls/,
    );
    expect(() =>
      resolveSettings(siteServerSettings, 'STEWARD_SITE', { serverCertificateDays: '0.0001' }, {}),
    ).toThrow(/--server-certificate-days/);
  });
});

describe('serverNames', () => {
  it('names the listen address and the public URL host', () => {
    expect(serverNames('192.0.2.10', 'https://steward.example.test:8443/')).toEqual({
      dnsNames: ['steward.example.test'],
      ipAddresses: ['192.0.2.10'],
    });
    expect(serverNames('::1', null)).toEqual({ dnsNames: [], ipAddresses: ['::1'] });
    expect(serverNames('Site.Example.Test', 'https://[2001:db8::1]/')).toEqual({
      dnsNames: ['site.example.test'],
      ipAddresses: ['2001:db8::1'],
    });
  });

  it("names this machine's addresses for a wildcard listener", () => {
    const names = serverNames('0.0.0.0', null);
    expect(names.dnsNames).toContain('localhost');
    expect(names.ipAddresses).toContain('127.0.0.1');
    expect(names.ipAddresses.every((address) => !address.includes(':'))).toBe(true);
  });
});

describe('postgresConnection', () => {
  it('maps the libpq TLS parameters to pg options and strips them from the URL', () => {
    expect(postgresConnection('postgres://u@db.example.test/steward')).toMatchObject({
      sslMode: 'disable',
      ssl: false,
    });
    const required = postgresConnection(
      'postgres://u@db.example.test/steward?sslmode=require&application_name=x',
    );
    expect(required.sslMode).toBe('require');
    expect(required.ssl).toMatchObject({ rejectUnauthorized: false });
    expect(required.connectionString).toBe('postgres://u@db.example.test/steward?application_name=x');
    const system = postgresConnection(
      'postgres://u@db.example.test/steward?sslmode=verify-full&sslrootcert=system',
    );
    expect(system.ssl).toMatchObject({ rejectUnauthorized: true });
    expect(system.ssl === false ? undefined : system.ssl.ca).toBeUndefined();
    expect(() =>
      postgresConnection('postgres://u@h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem'),
    ).toThrow(/sslrootcert/);
    expect(() => postgresConnection('postgres://u@h/d?sslmode=allow')).toThrow(/not supported/);
  });
});
