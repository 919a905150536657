import { mkdir, mkdtemp, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  importPackageSource,
  listPackageVersions,
  openPackage,
  openPackageFile,
  removeImportLeftovers,
  removePackageVersion,
  verifyPackage,
  type ContentCorruptError,
} from '../../src/site/content-library/index.js';
import { SigningKey } from '../../src/trust/index.js';

const siteKey = SigningKey.fromSeed(new Uint8Array(32).fill(7));
const otherKey = SigningKey.fromSeed(new Uint8Array(32).fill(8));
const now = new Date('2026-03-01T12:00:00.000Z');
let root: string;
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'steward-library-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A library holding editor 1.0 (and any further versions named), imported from a small source. */
async function libraryWith(...versions: string[]): Promise<string> {
  counter += 1;
  const source = join(root, `source-${counter}`);
  const library = join(root, `library-${counter}`);
  await mkdir(join(source, 'docs'), { recursive: true });
  await writeFile(join(source, 'setup.sh'), '#!/bin/sh\necho installed\n');
  await writeFile(join(source, 'docs', 'readme.txt'), 'read me');
  for (const packageVersion of ['1.0', ...versions]) {
    await importPackageSource({
      sourceDir: source,
      libraryDir: library,
      packageId: 'editor',
      packageVersion,
      siteCode: 'ABC',
      siteKey,
      now,
    });
  }
  return library;
}

const stored = (library: string, path: string) => join(library, 'editor', '1.0', 'files', path);

describe('openPackage', () => {
  it('returns the stored envelope, the payload and the manifest hash', async () => {
    const library = await libraryWith();
    const pkg = await openPackage(library, 'editor', '1.0');
    expect(pkg.manifestEncoded).toBe(await readFile(join(library, 'editor', '1.0', 'manifest.json'), 'utf8'));
    expect(pkg.manifest.files.map((file) => file.path)).toEqual(['docs/readme.txt', 'setup.sh']);
    const verified = await verifyPackage({
      libraryDir: library,
      packageId: 'editor',
      packageVersion: '1.0',
      siteKeys: [siteKey.verifyingKey()],
      now,
    });
    expect(pkg.manifestHash).toBe(verified.manifest.hash);
  });

  it('resolves only paths listed in the manifest', async () => {
    const library = await libraryWith();
    const pkg = await openPackage(library, 'editor', '1.0');
    expect(pkg.filePath('docs/readme.txt')).toBe(stored(library, 'docs/readme.txt'));
    for (const path of [
      'docs',
      'docs/',
      '../manifest.json',
      '/etc/passwd',
      'docs/../setup.sh',
      './setup.sh',
      'setup.sh\0',
      'DOCS/readme.txt',
    ]) {
      expect(pkg.filePath(path)).toBeUndefined();
      expect(pkg.file(path)).toBeUndefined();
      await expect(openPackageFile(pkg, path)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    }
  });

  it('answers ERR_NOT_FOUND for an absent version and for names outside the rule', async () => {
    const library = await libraryWith();
    for (const [id, version] of [
      ['editor', '2.0'],
      ['other', '1.0'],
      ['..', '1.0'],
      ['editor', '..'],
      ['editor', '1.0/../1.0'],
    ]) {
      await expect(openPackage(library, id!, version!)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    }
  });

  it('answers ERR_CONTENT_CORRUPT for a damaged manifest or one naming another version', async () => {
    const library = await libraryWith('2.0');
    await writeFile(join(library, 'editor', '1.0', 'manifest.json'), '{"payloadType":');
    await expect(openPackage(library, 'editor', '1.0')).rejects.toMatchObject({
      code: 'ERR_CONTENT_CORRUPT',
      status: 503,
    });
    const second = await readFile(join(library, 'editor', '2.0', 'manifest.json'));
    await writeFile(join(library, 'editor', '1.0', 'manifest.json'), second);
    await expect(openPackage(library, 'editor', '1.0')).rejects.toMatchObject({
      code: 'ERR_CONTENT_CORRUPT',
    });
  });

  it('refuses a stored file whose size differs from the manifest', async () => {
    const library = await libraryWith();
    const pkg = await openPackage(library, 'editor', '1.0');
    await truncate(stored(library, 'setup.sh'), 3);
    const error = (await openPackageFile(pkg, 'setup.sh').catch(
      (caught: unknown) => caught,
    )) as ContentCorruptError;
    expect(error.code).toBe('ERR_CONTENT_CORRUPT');
    expect(error.problems).toEqual([
      { path: 'setup.sh', problem: 'setup.sh is 3 bytes; the manifest says 25' },
    ]);
  });

  it('refuses a symbolic link planted in place of a file or folder', async () => {
    const library = await libraryWith();
    const pkg = await openPackage(library, 'editor', '1.0');
    await writeFile(join(root, 'secret'), 'seven b');
    await rm(stored(library, 'docs/readme.txt'));
    await symlink(join(root, 'secret'), stored(library, 'docs/readme.txt'));
    await expect(openPackageFile(pkg, 'docs/readme.txt')).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
      at: 'editor/1.0/files/docs/readme.txt',
    });
    await mkdir(join(root, 'elsewhere'), { recursive: true });
    await writeFile(join(root, 'elsewhere', 'readme.txt'), 'seven b');
    await rm(stored(library, 'docs'), { recursive: true });
    await symlink(join(root, 'elsewhere'), stored(library, 'docs'));
    await expect(openPackageFile(pkg, 'docs/readme.txt')).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
      at: 'editor/1.0/files/docs',
    });
  });
});

describe('verifyPackage', () => {
  const options = (libraryDir: string) => ({
    libraryDir,
    packageId: 'editor',
    packageVersion: '1.0',
    siteKeys: [siteKey.verifyingKey()],
    now,
  });

  it('accepts an intact package signed by a trusted site key', async () => {
    const library = await libraryWith();
    const verified = await verifyPackage(options(library));
    expect(verified).toMatchObject({ fileCount: 2, totalSize: 32 });
    expect(verified.manifest.payload.siteCode).toBe('ABC');
  });

  it('lists every damaged file: altered bytes, wrong size, missing', async () => {
    const library = await libraryWith();
    await writeFile(stored(library, 'setup.sh'), '#!/bin/sh\necho INSTALLED\n');
    await writeFile(stored(library, 'docs/readme.txt'), 'read me!');
    const error = (await verifyPackage(options(library)).catch(
      (caught: unknown) => caught,
    )) as ContentCorruptError;
    expect(error.code).toBe('ERR_CONTENT_CORRUPT');
    expect(error.problems.map((problem) => problem.path)).toEqual(['docs/readme.txt', 'setup.sh']);
    expect(error.problems[1]!.problem).toMatch(/SHA-256/);
    await rm(stored(library, 'setup.sh'));
    const again = (await verifyPackage(options(library)).catch(
      (caught: unknown) => caught,
    )) as ContentCorruptError;
    expect(again.problems[1]).toEqual({ path: 'setup.sh', problem: 'setup.sh is missing' });
  });

  it('C5 refuses a manifest not signed by a trusted site key, or expired', async () => {
    const library = await libraryWith();
    await expect(
      verifyPackage({ ...options(library), siteKeys: [otherKey.verifyingKey()] }),
    ).rejects.toMatchObject({ code: 'ERR_UNKNOWN_KEY' });
    const later = new Date(now.getTime() + 3651 * 86_400_000);
    await expect(verifyPackage({ ...options(library), now: later })).rejects.toMatchObject({
      code: 'ERR_EXPIRED',
    });
  });
});

describe('listing and removing versions', () => {
  it('lists complete versions only, sorted', async () => {
    const library = await libraryWith('2.0', '1.1');
    await mkdir(join(library, 'editor', '3.0'));
    await mkdir(join(library, '.import-abc', 'files'), { recursive: true });
    expect(await listPackageVersions(library)).toEqual([
      { packageId: 'editor', packageVersion: '1.0' },
      { packageId: 'editor', packageVersion: '1.1' },
      { packageId: 'editor', packageVersion: '2.0' },
    ]);
    expect(await listPackageVersions(library, 'other')).toEqual([]);
    expect(await listPackageVersions(join(root, 'no-such-library'))).toEqual([]);
  });

  it('removes a version entirely, and answers ERR_NOT_FOUND for an absent one', async () => {
    const library = await libraryWith('2.0');
    await removePackageVersion(library, 'editor', '1.0');
    expect(await listPackageVersions(library)).toEqual([{ packageId: 'editor', packageVersion: '2.0' }]);
    expect((await readdir(library)).sort()).toEqual(['editor']);
    await expect(removePackageVersion(library, 'editor', '1.0')).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
    await expect(removePackageVersion(library, '..', '1.0')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('clears work folders a killed import left behind', async () => {
    const library = await libraryWith();
    await mkdir(join(library, '.import-x1', 'files'), { recursive: true });
    await mkdir(join(library, '.remove-x2', 'version'), { recursive: true });
    expect(await removeImportLeftovers(library)).toBe(2);
    expect(await readdir(library)).toEqual(['editor']);
    expect(await listPackageVersions(library)).toHaveLength(1);
  });
});
