/**
 * The receiving side of a link (S3) and what it does with records that come down, in process over a
 * real database: a root rotation is kept only when it follows the rotation rules (C1), a policy body
 * only when the owning site's certified key signed it (C4 at the site), and a status filter rule
 * decides what goes up.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downAppliers } from '../../src/site/hierarchy/flows/apply-down.js';
import { ignoreEvents } from '../../src/site/hierarchy/flows/hierarchy-events.js';
import { forwards } from '../../src/site/hierarchy/flows/up-records.js';
import { defaultHierarchyConfig } from '../../src/site/hierarchy/hierarchy-config.js';
import { createLink } from '../../src/site/hierarchy/links/link-store.js';
import { receiveSiteMessage } from '../../src/site/hierarchy/links/receiver.js';
import { saveSite } from '../../src/site/hierarchy/site-trust.js';
import { rootChain, saveRootDocument } from '../../src/site/hierarchy/trust-store.js';
import {
  createRootDocument,
  issueSiteCertificate,
  randomId,
  signDocument,
  SigningKey,
  type SignedDocument,
} from '../../src/trust/index.js';
import { openTestPglite, type OpenedTestDatabase } from '../support/backends.js';

const now = new Date();
const later = new Date(now.getTime() + 3 * 365 * 24 * 3600 * 1000);
const rootKeys = [SigningKey.generate(), SigningKey.generate(), SigningKey.generate()] as const;
const parentKey = SigningKey.generate();
const localKey = SigningKey.generate();

function root(version: number, keys: readonly SigningKey[], signers: readonly SigningKey[]): SignedDocument {
  return createRootDocument({ version, keys, threshold: 1, issuedAt: now, expiresAt: later }, signers);
}

function certificate(code: string, key: SigningKey, parent: string | null): SignedDocument {
  return issueSiteCertificate(
    {
      version: 1,
      siteCode: code,
      siteName: `Site ${code}`,
      siteKey: key.publicRecord(),
      parentSiteCode: parent,
      siteType: parent === null ? 'central' : 'primary',
      issuedAt: now.toISOString(),
      expiresAt: later.toISOString(),
    },
    [rootKeys[0]],
  );
}

let database: OpenedTestDatabase;
let sequence = 0;

beforeEach(async () => {
  database = await openTestPglite();
  const db = database.db;
  await saveRootDocument(db, root(1, [rootKeys[0]], [rootKeys[0]]), 1, later.toISOString());
  await db
    .insertInto('sites')
    .values({
      code: 'KID',
      name: 'Kid',
      site_type: 'primary',
      parent_code: 'PAR',
      site_key_id: localKey.keyId,
      certificate: certificate('KID', localKey, 'PAR').encoded,
      is_local: true,
      updated_at: now,
    })
    .execute();
  await saveSite(
    db,
    {
      code: 'PAR',
      name: 'Parent',
      siteType: 'central',
      parentCode: null,
      siteKeyId: parentKey.keyId,
      certificate: certificate('PAR', parentKey, null).encoded,
      ancestor: true,
    },
    now,
  );
  await createLink(
    db,
    { siteCode: 'PAR', direction: 'parent', siteType: 'central', url: 'http://parent' },
    now,
  );
  sequence = 0;
});

afterEach(async () => {
  await database.discard();
});

async function receive(records: { type: string; body: Record<string, unknown> }[]) {
  sequence += 1;
  const message = signDocument(
    {
      kind: 'site-message',
      sequence,
      fromSite: 'PAR',
      toSite: 'KID',
      records: records.map((r) => ({ recordId: `${r.type}.${randomId().slice(0, 8)}`, ...r })),
      issuedAt: now.toISOString(),
      expiresAt: later.toISOString(),
    },
    [parentKey],
  ).encoded;
  return receiveSiteMessage(
    database.db,
    {
      localCode: 'KID',
      localType: 'primary',
      appliers: downAppliers(ignoreEvents),
      hierarchy: defaultHierarchyConfig,
      log: () => undefined,
    },
    { message },
    new Date(),
  );
}

describe('records from the parent', () => {
  it('C1 keeps a root rotation signed by the held root and the new one, and skips one that is not', async () => {
    // Version 2 adds a key and keeps the one that certified the sites (their certificates stay valid).
    const v2 = root(2, [rootKeys[0], rootKeys[1]], [rootKeys[0], rootKeys[1]]);
    expect(await receive([{ type: 'root', body: { envelope: v2.encoded } }])).toMatchObject({ skipped: 0 });
    expect(await rootChain(database.db)).toHaveLength(2);
    // Version 3 signed only by its own key: the holders of version 2 did not agree to it.
    const v3 = root(3, [rootKeys[2]], [rootKeys[2]]);
    expect(await receive([{ type: 'root', body: { envelope: v3.encoded } }])).toMatchObject({
      status: 'applied',
      skipped: 1,
    });
    expect(await rootChain(database.db)).toHaveLength(2);
  });

  it('C4 at the site: skips a deployment whose policy body the owning site did not sign', async () => {
    const forged = signDocument(
      {
        kind: 'policy-body',
        version: 1,
        policyId: 'PAR-pol-1',
        siteCode: 'PAR',
        deploymentId: 'PAR-dep-1',
        package: { packageId: 'PAR-pkg', version: '1.0', manifestHash: '0'.repeat(64) },
        program: {
          name: 'install',
          commandLine: 'sh install.sh',
          workingDirectory: '.',
          environment: {},
          timeLimitSeconds: 60,
          elevated: false,
          successExitCodes: [0],
        },
        schedule: { availableAt: now.toISOString(), mandatoryAt: null, expiresAt: null },
        rerun: 'never',
        contentUrls: [],
        issuedAt: now.toISOString(),
        expiresAt: later.toISOString(),
      },
      [SigningKey.generate()],
    );
    const answer = await receive([
      {
        type: 'deployment',
        body: {
          originSite: 'PAR',
          deploymentId: 'PAR-dep-1',
          name: 'forged',
          packageId: 'PAR-pkg',
          packageVersion: '1.0',
          programName: 'install',
          collectionId: 'col-1',
          availableAt: now.toISOString(),
          mandatoryAt: null,
          expiresAt: null,
          rerun: 'never',
          state: 'active',
          policyId: 'PAR-pol-1',
          policyVersion: 1,
          policyBody: forged.encoded,
        },
      },
    ]);
    expect(answer.skipped).toBe(1);
    expect(await database.db.selectFrom('deployments').selectAll().execute()).toEqual([]);
    const log = await database.db.selectFrom('site_message_log').selectAll().execute();
    expect(log.at(-1)?.skip_error).toMatch(/ERR_UNKNOWN_KEY/);
  });

  it('refuses up records coming down (a parent does not speak for this site’s clients)', async () => {
    const answer = await receive([
      {
        type: 'client',
        body: {
          siteCode: 'KID',
          clientId: 'a'.repeat(64),
          publicKey: 'x',
          hostname: 'pc',
          state: 'approved',
          mode: 'secure',
          rootSource: 'pinned',
          registeredAt: now.toISOString(),
          approvedAt: null,
          revokedAt: null,
        },
      },
    ]);
    expect(answer.skipped).toBe(1);
    expect(await database.db.selectFrom('clients').selectAll().execute()).toEqual([]);
  });
});

describe('status filter rules', () => {
  it('forward all, deployments and errors, errors only, or nothing', () => {
    expect(forwards('all', 'info', null)).toBe(true);
    expect(forwards('deployments-and-errors', 'info', 'dep')).toBe(true);
    expect(forwards('deployments-and-errors', 'info', null)).toBe(false);
    expect(forwards('deployments-and-errors', 'error', null)).toBe(true);
    expect(forwards('errors', 'warning', 'dep')).toBe(true);
    expect(forwards('errors', 'info', 'dep')).toBe(false);
    expect(forwards('none', 'error', 'dep')).toBe(false);
  });
});
