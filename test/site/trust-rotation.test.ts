/**
 * `steward trust rotate-root` and `rotate-mp` on a central site's data folder (docs/operations.md,
 * "Rotate the root", "Rotate the management point key"), in process: what the rotation stores, what
 * an agent that pinned the old root makes of the next trust bundle (C1, C2), and that a refused
 * rotation changes nothing.
 */
import { mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAudit, verifyAuditChain } from '../../src/admin/audit-log/index.js';
import { applyTrustBundle } from '../../src/agent/trust/agent-trust.js';
import { lockFolder } from '../../src/platform/lock-file.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { readSiteConfig } from '../../src/site/data-folder/site-config.js';
import { databaseLocation, openSiteDatabase } from '../../src/site/database/open.js';
import type { SiteDb } from '../../src/site/database/site-db.js';
import { initCentralSite, type SiteInitResult } from '../../src/site/init/site-init.js';
import { loadTrustBundle } from '../../src/site/server/trust-bundle.js';
import { tlsAuthorities } from '../../src/site/tls/tls-store.js';
import { rotateMpKey } from '../../src/site/trust-rotation/rotate-mp-key.js';
import { rotateRoot } from '../../src/site/trust-rotation/rotate-root.js';
import {
  fingerprintOf,
  followRotations,
  readKeyFile,
  SigningKey,
  trustRootFromPin,
  verifyCaEndorsement,
  verifyMpCertificate,
  verifySiteCertificate,
  writeKeyFile,
} from '../../src/trust/index.js';
import { testKeyFileCost } from '../support/site-fixture.js';

let dir: string;
let dataDir: string;
let init: SiteInitResult;
const code = 'ROT';
const mpName = `${code}-MP1`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'steward-rotation-'));
  dataDir = join(dir, 'site');
  init = await initCentralSite({
    dataDir,
    code,
    name: 'Rotation site',
    listen: '127.0.0.1:0',
    publicUrl: null,
    database: null,
    passphrase: null,
    approval: 'token',
    now: new Date(),
    keyFileCost: testKeyFileCost,
  });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function withDb<T>(work: (db: SiteDb) => Promise<T>): Promise<T> {
  const database = await openSiteDatabase(databaseLocation(undefined, siteDataLayout(dataDir).database));
  try {
    return await work(database.db);
  } finally {
    await database.close();
  }
}

/** Everything a rotation may change, to show that a refused one changed nothing. */
async function snapshot(): Promise<unknown> {
  const layout = siteDataLayout(dataDir);
  const database = await withDb(async (db) => ({
    roots: await db.selectFrom('root_documents').select(['version', 'hash']).orderBy('version').execute(),
    certificates: await db
      .selectFrom('certificates')
      .select(['hash', 'revoked_at'])
      .orderBy('hash')
      .execute(),
    sites: await db.selectFrom('sites').select(['code', 'certificate']).orderBy('code').execute(),
    systems: await db
      .selectFrom('site_systems')
      .select(['id', 'key_id', 'certificate'])
      .orderBy('id')
      .execute(),
    tls: await db.selectFrom('tls_authorities').select(['version', 'endorsement']).execute(),
    audit: (await listAudit(db, { limit: 1000 })).length,
  }));
  const files = (await readdir(layout.keysDir)).sort();
  const keyBytes = await Promise.all(files.map((name) => readFile(join(layout.keysDir, name), 'utf8')));
  const retired = await readdir(layout.retiredKeysDir).catch(() => []);
  return { database, files, keyBytes, retired, config: await readSiteConfig(layout.config) };
}

/** The state of an agent enrolled with the original root pinned (chain: version 1 only). */
async function pinnedAgentState() {
  const chain = await withDb(async (db) =>
    (await db.selectFrom('root_documents').select('envelope').orderBy('version').execute()).map(
      (row) => row.envelope,
    ),
  );
  return {
    chain: chain.slice(0, 1),
    pin: fingerprintOf(init.rootKeyId),
    source: 'pinned' as const,
    bundleEtag: null,
  };
}

describe('steward trust rotate-root', () => {
  it('C1: version 2 is signed by the old and new keys; an agent pinned to version 1 follows it and accepts the re-signed MP, site certificate and TLS CA (C2)', async () => {
    const agentState = await pinnedAgentState();
    const now = new Date();
    const result = await rotateRoot(dataDir, {
      keys: 2,
      threshold: 2,
      actor: 'test',
      now,
      keyFileCost: testKeyFileCost,
    });
    expect(result).toMatchObject({
      site: code,
      previousVersion: 1,
      version: 2,
      threshold: 2,
      siteCertificate: { siteCode: code, serial: 2 },
      mpCertificates: [{ name: mpName, serial: 2 }],
      tlsCaEndorsements: [1],
      childSites: [],
      retiredKeys: [{ keyId: init.rootKeyId, file: 'retired-keys/root-v1-1.key' }],
    });
    expect(result.keys).toHaveLength(2);
    expect(result.keys.map((k) => k.file)).toEqual(['keys/root-1.key', 'keys/root-2.key']);
    // Private keys never appear in the result.
    expect(JSON.stringify(result)).not.toMatch(/ciphertext|pkcs8|privateKey/i);

    const layout = siteDataLayout(dataDir);
    const secret = { secretFile: layout.keySecret };
    const newKeyIds = await Promise.all(
      [1, 2].map(async (index) => (await readKeyFile(layout.rootKey(index), secret)).keyId),
    );
    expect(newKeyIds).toEqual(result.keys.map((k) => k.keyId));
    expect((await readKeyFile(layout.retiredRootKey(1, 1), secret)).keyId).toBe(init.rootKeyId);
    expect((await readdir(layout.keysDir)).filter((name) => name.startsWith('incoming'))).toEqual([]);
    expect((await readSiteConfig(layout.config)).rootKeyCount).toBe(2);

    await withDb(async (db) => {
      // What the management point hands agents: the whole chain and the re-signed certificates.
      const bundle = await loadTrustBundle(db, code, mpName);
      expect(bundle.rootChain).toHaveLength(2);
      const applied = applyTrustBundle(agentState, bundle, code, now);
      expect(applied.view.root.version).toBe(2);
      expect(applied.rotatedFrom).toBe(1);
      expect(applied.chain).toHaveLength(2);
      expect(applied.view.mpName).toBe(mpName);
      expect(applied.view.siteKeys.size).toBe(1);

      const v1 = trustRootFromPin(bundle.rootChain.slice(0, 1), fingerprintOf(init.rootKeyId), now);
      const v2 = followRotations(v1, bundle.rootChain, now);
      expect(verifySiteCertificate(bundle.siteCertificates[0] ?? '', v2, now, code).payload.version).toBe(2);
      expect(verifyMpCertificate(bundle.mpCertificate, v2, now, code).payload.version).toBe(2);
      // The old root no longer vouches for what the site serves.
      expect(() => verifyMpCertificate(bundle.mpCertificate, v1, now, code)).toThrow(
        expect.objectContaining({ code: 'ERR_UNKNOWN_KEY' }),
      );
      const [authority] = await tlsAuthorities(db);
      expect(authority).toBeDefined();
      if (authority === undefined) return;
      expect(
        verifyCaEndorsement(authority.endorsement, authority.certificatePem, v2, now).payload.siteCode,
      ).toBe(code);
      expect(() => verifyCaEndorsement(authority.endorsement, authority.certificatePem, v1, now)).toThrow(
        expect.objectContaining({ code: 'ERR_UNKNOWN_KEY' }),
      );

      const revoked = await db
        .selectFrom('certificates')
        .select(['kind', 'serial'])
        .where('revoked_at', 'is not', null)
        .orderBy('kind')
        .execute();
      expect(revoked).toEqual([
        { kind: 'mp-certificate', serial: 1 },
        { kind: 'site-certificate', serial: 1 },
      ]);
      const entries = await listAudit(db, { limit: 1000 });
      const entry = entries.find((e) => e.action === 'trust.rotate-root');
      expect(entry?.details).toMatchObject({ previousVersion: 1, version: 2, threshold: 2 });
      expect((await verifyAuditChain(db)).ok).toBe(true);
    });
  });

  it("a second rotation needs a threshold of version 2's keys: with one of two, ERR_ROOT_KEY_OFFLINE; with both, version 3", async () => {
    await rotateRoot(dataDir, {
      keys: 2,
      threshold: 2,
      actor: 'test',
      now: new Date(),
      keyFileCost: testKeyFileCost,
    });
    const layout = siteDataLayout(dataDir);
    await rename(layout.rootKey(2), join(dir, 'offline-root-2.key'));
    const before = await snapshot();
    await expect(
      rotateRoot(dataDir, {
        keys: 1,
        threshold: 1,
        actor: 'test',
        now: new Date(),
        keyFileCost: testKeyFileCost,
      }),
    ).rejects.toMatchObject({ code: 'ERR_ROOT_KEY_OFFLINE' });
    expect(await snapshot()).toEqual(before);

    await rename(join(dir, 'offline-root-2.key'), layout.rootKey(2));
    const third = await rotateRoot(dataDir, {
      keys: 1,
      threshold: 1,
      actor: 'test',
      now: new Date(),
      keyFileCost: testKeyFileCost,
    });
    expect(third).toMatchObject({ previousVersion: 2, version: 3, threshold: 1 });
    expect(third.retiredKeys.map((k) => k.file)).toEqual([
      'retired-keys/root-v2-1.key',
      'retired-keys/root-v2-2.key',
    ]);
    expect((await readdir(layout.keysDir)).filter((name) => name.startsWith('root-'))).toEqual([
      'root-1.key',
    ]);
    const agentState = await pinnedAgentState();
    await withDb(async (db) => {
      const applied = applyTrustBundle(agentState, await loadTrustBundle(db, code, mpName), code, new Date());
      expect(applied.view.root.version).toBe(3);
    });
  });

  it('a rotation killed after its transaction is finished by the next one; one killed before it leaves keys that are removed', async () => {
    const layout = siteDataLayout(dataDir);
    const secret = { secretFile: layout.keySecret };
    const second = await rotateRoot(dataDir, {
      actor: 'test',
      now: new Date(),
      keyFileCost: testKeyFileCost,
    });
    // As if killed between the commit and the renames: the new key still incoming, the old one in place.
    await rename(layout.rootKey(1), layout.incomingRootKey(1));
    await rename(layout.retiredRootKey(1, 1), layout.rootKey(1));
    const third = await rotateRoot(dataDir, { actor: 'test', now: new Date(), keyFileCost: testKeyFileCost });
    expect(third).toMatchObject({ interruptedRotation: 'finished', previousVersion: 2, version: 3 });
    expect(third.retiredKeys).toEqual([
      {
        keyId: second.keys[0]?.keyId,
        fingerprint: second.keys[0]?.fingerprint,
        file: 'retired-keys/root-v2-1.key',
      },
    ]);
    expect((await readKeyFile(layout.retiredRootKey(1, 1), secret)).keyId).toBe(init.rootKeyId);

    // As if killed before the transaction: an incoming key the database never stored.
    const unused = SigningKey.generate();
    await writeKeyFile(layout.incomingRootKey(1), unused, secret, { cost: testKeyFileCost });
    const fourth = await rotateRoot(dataDir, {
      actor: 'test',
      now: new Date(),
      keyFileCost: testKeyFileCost,
    });
    expect(fourth).toMatchObject({ interruptedRotation: 'discarded', previousVersion: 3, version: 4 });
    expect(fourth.keys.map((k) => k.keyId)).not.toContain(unused.keyId);
    expect((await readdir(layout.keysDir)).filter((name) => name.startsWith('incoming'))).toEqual([]);
  });

  it('without the root key in keys/ it fails with ERR_ROOT_KEY_OFFLINE and changes nothing', async () => {
    const layout = siteDataLayout(dataDir);
    await rename(layout.rootKey(1), join(dir, 'offline-root.key'));
    const before = await snapshot();
    await expect(rotateRoot(dataDir, { actor: 'test', now: new Date() })).rejects.toMatchObject({
      code: 'ERR_ROOT_KEY_OFFLINE',
    });
    await expect(rotateMpKey(dataDir, { actor: 'test', now: new Date() })).rejects.toMatchObject({
      code: 'ERR_ROOT_KEY_OFFLINE',
    });
    expect(await snapshot()).toEqual(before);
  });

  it('refuses while the site server holds the data folder (ERR_DATA_FOLDER_LOCKED)', async () => {
    const lock = await lockFolder(dataDir, 'a test standing in for steward site start');
    try {
      await expect(rotateRoot(dataDir, { actor: 'test', now: new Date() })).rejects.toMatchObject({
        code: 'ERR_DATA_FOLDER_LOCKED',
      });
    } finally {
      await lock.release();
    }
  });

  it('refuses a hierarchy with child sites unless allowed (ERR_ROTATION_CHILD_SITES); allowed, the root document is queued for them', async () => {
    const now = new Date();
    await withDb(async (db) => {
      await db
        .insertInto('sites')
        .values({
          code: 'PRI',
          name: 'A primary',
          site_type: 'primary',
          parent_code: code,
          site_key_id: 'a'.repeat(64),
          certificate: null,
          is_local: false,
          updated_at: now,
        })
        .execute();
      await db
        .insertInto('site_links')
        .values({
          site_code: 'PRI',
          direction: 'child',
          site_type: 'primary',
          url: 'http://127.0.0.1:9',
          created_at: now,
        })
        .execute();
    });
    const before = await snapshot();
    await expect(
      rotateRoot(dataDir, { actor: 'test', now, keyFileCost: testKeyFileCost }),
    ).rejects.toMatchObject({ code: 'ERR_ROTATION_CHILD_SITES' });
    expect(await snapshot()).toEqual(before);

    const result = await rotateRoot(dataDir, {
      allowChildSites: true,
      actor: 'test',
      now,
      keyFileCost: testKeyFileCost,
    });
    expect(result.childSites).toEqual(['PRI']);
    // Migration 003's triggers capture the new root document for the links down the hierarchy.
    await withDb(async (db) => {
      const changes = await db
        .selectFrom('hierarchy_changes')
        .select(['kind', 'key'])
        .where('kind', '=', 'root')
        .execute();
      expect(changes).toContainEqual({ kind: 'root', key: '2' });
    });
  });
});

describe('steward trust rotate-mp', () => {
  it('C2: a new MP key with a root-signed certificate; the old certificate is revoked and no longer served', async () => {
    const layout = siteDataLayout(dataDir);
    const secret = { secretFile: layout.keySecret };
    const oldKey = await readKeyFile(layout.mpKey, secret);
    const now = new Date();
    const result = await rotateMpKey(dataDir, { actor: 'test', now, keyFileCost: testKeyFileCost });
    expect(result).toMatchObject({
      site: code,
      mpName,
      previousKey: { keyId: oldKey.keyId, fingerprint: oldKey.fingerprint },
      certificate: { serial: 2 },
      revokedSerials: [1],
    });
    const newKey = await readKeyFile(layout.mpKey, secret);
    expect(newKey.keyId).toBe(result.key.keyId);
    expect(newKey.keyId).not.toBe(oldKey.keyId);
    expect((await readdir(layout.keysDir)).filter((name) => name.startsWith('incoming'))).toEqual([]);

    const agentState = await pinnedAgentState();
    await withDb(async (db) => {
      const bundle = await loadTrustBundle(db, code, mpName);
      const applied = applyTrustBundle(agentState, bundle, code, now);
      expect(applied.view.mpKey.keyId).toBe(newKey.keyId);
      expect(applied.view.otherMps).toEqual([]);
      const certificates = await db
        .selectFrom('certificates')
        .select(['serial', 'key_id', 'revoked_at'])
        .where('kind', '=', 'mp-certificate')
        .orderBy('serial')
        .execute();
      expect(certificates.map((c) => [c.serial, c.key_id, c.revoked_at !== null])).toEqual([
        [1, oldKey.keyId, true],
        [2, newKey.keyId, false],
      ]);
      const system = await db
        .selectFrom('site_systems')
        .select(['key_id'])
        .where('name', '=', mpName)
        .executeTakeFirstOrThrow();
      expect(system.key_id).toBe(newKey.keyId);
      const entries = await listAudit(db, { limit: 1000 });
      expect(entries.find((e) => e.action === 'trust.rotate-mp')?.details).toMatchObject({
        previousKeyId: oldKey.keyId,
        keyId: newKey.keyId,
      });
    });
  });
});
