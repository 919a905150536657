/**
 * An organisation's own certificate for the admin API and console (docs/tls.md): served on a second
 * listener (--admin-listen) with --tls-certificate and --tls-key, while agents keep the main
 * listener and its hierarchy certificate. The CLI trusts the organisation's CA there and refuses
 * the hierarchy CA.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsFetch, tlsOptionsFor } from '../../src/trust/index.js';
import { buildOrganisationPki } from '../trust/support/organisation-pki.js';
import { freePort } from '../support/site-process.js';
import { runSteward, stopAllStewardProcesses, waitUntil } from '../support/steward-process.js';
import { createHttpsSite, type HttpsSite } from './support/https-site.js';

let site: HttpsSite;
let work: string;
let adminUrl: string;
let organisationCa: string;
let chainFile: string;
let keyFile: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'steward-tls-org-'));
  const organisation = await buildOrganisationPki(new Date());
  organisationCa = join(work, 'organisation-ca.pem');
  chainFile = join(work, 'admin-chain.pem');
  keyFile = join(work, 'admin-key.pem');
  await writeFile(organisationCa, organisation.rootCaPem);
  await writeFile(chainFile, organisation.serverChainPem);
  await writeFile(keyFile, organisation.serverKeyPem, { mode: 0o600 });
  const adminPort = await freePort();
  adminUrl = `https://127.0.0.1:${adminPort}`;
  site = await createHttpsSite('TLO', {
    startArgs: [
      '--tls-certificate',
      chainFile,
      '--tls-key',
      keyFile,
      '--admin-listen',
      `127.0.0.1:${adminPort}`,
    ],
  });
}, 120_000);

afterAll(async () => {
  await stopAllStewardProcesses();
  await site.remove();
  await rm(work, { recursive: true, force: true });
});

describe("an organisation's certificate on the admin listener", () => {
  it('serves the admin API with it; the CLI trusts the organisation CA and refuses the hierarchy CA', async () => {
    const runtime = await waitUntil(
      async () =>
        JSON.parse(await readFile(join(site.dataDir, 'runtime.json'), 'utf8')) as { adminUrl?: string },
      'runtime.json',
    );
    expect(runtime.adminUrl).toBe(adminUrl);
    const env = { STEWARD_TOKEN: site.token };
    const good = await runSteward(
      ['site', 'status', '--site', adminUrl, '--ca-file', organisationCa, '--json'],
      {
        env,
      },
    );
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ code: 'TLO' });
    const hierarchy = join(site.dataDir, 'tls', 'ca.pem');
    const wrong = await runSteward(['site', 'status', '--site', adminUrl, '--ca-file', hierarchy], { env });
    expect(wrong.stderr).toMatch(/^error ERR_TLS_SERVER_UNTRUSTED: /m);
    // The main listener keeps the hierarchy certificate, which agents validate.
    expect((await httpsFetch(`${site.url}/health`, { tls: site.tls })).status).toBe(200);
  });

  it('does not serve agents there: client endpoints need a hierarchy client certificate', async () => {
    const tls = tlsOptionsFor({ caPem: await readFile(organisationCa, 'utf8') });
    const policy = await httpsFetch(`${adminUrl}/mp/v1/clients/${'b'.repeat(64)}/policy`, { tls });
    expect(policy.status).toBe(401);
  });

  it('needs all three settings together', async () => {
    await site.stop();
    const result = await runSteward([
      'site',
      'start',
      '--data',
      site.dataDir,
      '--tls',
      'always',
      '--tls-certificate',
      chainFile,
      '--tls-key',
      keyFile,
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^error ERR_SETTINGS: --admin-listen/m);
  });
});
