/**
 * Key exchange between sites without a join token (DESIGN.md section 2; docs/hierarchy.md): the
 * manual exchange of key files with fingerprints compared out of band, through the real CLI; and the
 * two options that weaken S3, automatic key exchange and legacy site interop, which exist only when
 * site.json turns them on (the audit reports them).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../src/trust/index.js';
import {
  runSteward,
  runStewardJson,
  startSteward,
  stopAllStewardProcesses,
  waitUntil,
} from '../support/steward-process.js';
import { freePort } from '../support/site-process.js';
import {
  createCentralSite,
  fastHierarchyEnv,
  hierarchyOf,
  joinChildSite,
  linkTo,
  type HierarchySite,
} from './support/hierarchy-sites.js';

afterAll(async () => {
  await stopAllStewardProcesses();
});

describe('manual key exchange (export-key, import-key)', () => {
  let central: HierarchySite;

  beforeAll(async () => {
    central = await createCentralSite('MKC');
    await central.start();
  }, 120_000);

  it('joins a site by key files whose fingerprints are compared out of band, and refuses a wrong fingerprint', async () => {
    const childDir = join(central.dir, 'child');
    const port = await freePort();
    const requestFile = join(central.dir, 'request.json');
    const exported = await runStewardJson<{ siteKeyFingerprint: string }>([
      'site',
      'export-key',
      '--data',
      childDir,
      '--code',
      'MKP',
      '--parent-code',
      'MKC',
      '--parent',
      central.url,
      '--listen',
      `127.0.0.1:${port}`,
      '--public-url',
      `http://127.0.0.1:${port}`,
      '--file',
      requestFile,
    ]);
    // The parent's administrator types the fingerprint the child's administrator read out: a wrong one is refused.
    const wrong = await runSteward([
      'site',
      'import-key',
      '--data',
      central.dataDir,
      '--file',
      requestFile,
      '--fingerprint',
      `sha256:${'0'.repeat(32)}`,
    ]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/^error ERR_KEY_EXCHANGE_FILE:/m);
    const imported = await runStewardJson<{ joinId: string; state: string }>([
      'site',
      'import-key',
      '--data',
      central.dataDir,
      '--file',
      requestFile,
      '--fingerprint',
      exported.siteKeyFingerprint,
    ]);
    expect(imported.state).toBe('certified');

    const answerFile = join(central.dir, 'answer.json');
    const answer = await runStewardJson<{ parentSiteKeyFingerprint: string }>([
      'site',
      'export-key',
      '--data',
      central.dataDir,
      '--join',
      imported.joinId,
      '--file',
      answerFile,
    ]);
    const refused = await runSteward([
      'site',
      'import-key',
      '--data',
      childDir,
      '--file',
      answerFile,
      '--fingerprint',
      exported.siteKeyFingerprint,
    ]);
    expect(refused.stderr).toMatch(/^error ERR_KEY_EXCHANGE_FILE:/m);
    const joined = await runStewardJson<{ siteCode: string; parentCode: string; keyExchange: string }>([
      'site',
      'import-key',
      '--data',
      childDir,
      '--file',
      answerFile,
      '--fingerprint',
      answer.parentSiteKeyFingerprint,
      '--root-key',
      central.rootFingerprint,
    ]);
    expect(joined).toMatchObject({ siteCode: 'MKP', parentCode: 'MKC', keyExchange: 'manual' });

    // The site runs and its link to the parent works like any other (signed, S3 at both ends).
    const child = startSteward(['site', 'start', '--data', childDir], {
      env: fastHierarchyEnv,
    });
    await waitUntil(
      async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok,
      'the child site',
      60_000,
    );
    await waitUntil(async () => {
      const link = linkTo(await hierarchyOf(central), 'MKP');
      return link.inboundSequence > 0 && link.acknowledgedSequence > 0;
    }, 'both directions of the link to carry a message');
    await child.stop();
  }, 240_000);
});

describe('automatic key exchange and legacy site interop, when site.json turns them on', () => {
  let central: HierarchySite;

  beforeAll(async () => {
    central = await createCentralSite('AKC');
    const configPath = join(central.dataDir, 'site.json');
    const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    config['hierarchy'] = { automaticKeyExchange: true, legacyInterop: true, legacySites: ['LGY'] };
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    await central.start();
  }, 120_000);

  it('joins a site without a token (trust on first use between sites), and says so', async () => {
    const port = await freePort();
    const joined = await runStewardJson<{ siteCode: string; keyExchange: string }>(
      [
        'site',
        'init',
        '--data',
        join(central.dir, 'auto'),
        '--code',
        'AUT',
        '--listen',
        `127.0.0.1:${port}`,
        '--parent',
        central.url,
        '--automatic-key-exchange',
      ],
      { timeoutMs: 180_000 },
    );
    expect(joined).toMatchObject({ siteCode: 'AUT', keyExchange: 'automatic' });
    const audit = await central.api<{ items: { action: string; details: { keyExchange?: string } }[] }>(
      'GET',
      '/audit?limit=1000',
    );
    expect(
      audit.items.some((e) => e.action === 'site.join-request' && e.details.keyExchange === 'automatic'),
    ).toBe(true);
  }, 240_000);

  it('accepts unsigned data only from the sites listed for legacy interop, and records it as unsigned', async () => {
    await joinChildSite(central, 'LGY', 'primary');
    const unsigned = (fromSite: string, machine: string, sequence: number) => ({
      unsigned: {
        sequence,
        fromSite,
        toSite: 'AKC',
        records: [
          {
            recordId: `status.${randomId().slice(0, 8)}`,
            type: 'status',
            body: {
              siteCode: fromSite,
              messageId: `legacy-${randomId()}`,
              clientId: null,
              machine,
              deploymentId: null,
              statusId: 10001,
              severity: 'info',
              component: 'site',
              occurredAt: new Date().toISOString(),
              insertionStrings: [],
            },
          },
        ],
        issuedAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      },
    });
    const post = async (body: unknown) =>
      fetch(`${central.url}/hierarchy/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const next = linkTo(await hierarchyOf(central), 'LGY').inboundSequence + 1;
    const accepted = await post(unsigned('LGY', 'legacy-machine', next));
    expect(accepted.status).toBe(200);
    const link = linkTo(await hierarchyOf(central), 'LGY') as unknown as {
      lastInbound: { unsigned: boolean };
    };
    expect(link.lastInbound.unsigned).toBe(true);
    // Another child, not listed for legacy interop, is held to S3.
    await joinChildSite(central, 'NLG', 'primary');
    const refused = await post(unsigned('NLG', 'not-listed', 1));
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ERR_UNSIGNED_SITE_DATA');
  }, 240_000);
});
