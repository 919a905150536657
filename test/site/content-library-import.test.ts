import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  importPackageSource,
  listPackageVersions,
  openPackage,
  type ImportPackageOptions,
  type ImportProgress,
} from '../../src/site/content-library/index.js';
import { openDocument, sha256Hex, SigningKey } from '../../src/trust/index.js';

const siteKey = SigningKey.fromSeed(new Uint8Array(32).fill(7));
const now = new Date('2026-03-01T12:00:00.000Z');
let root: string;
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'steward-import-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh folder under the test root. */
async function folder(name: string): Promise<string> {
  counter += 1;
  const path = join(root, `${name}-${counter}`);
  await mkdir(path, { recursive: true });
  return path;
}

/** Writes files (relative path → content) under a fresh source folder. */
async function sourceWith(files: Record<string, string | Uint8Array>): Promise<string> {
  const source = await folder('source');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(source, path, '..'), { recursive: true });
    await writeFile(join(source, path), content);
  }
  return source;
}

function options(
  sourceDir: string,
  libraryDir: string,
  extra: Partial<ImportPackageOptions> = {},
): ImportPackageOptions {
  return {
    sourceDir,
    libraryDir,
    packageId: 'editor',
    packageVersion: '1.0',
    siteCode: 'ABC',
    siteKey,
    now,
    ...extra,
  };
}

/** Pseudo-random bytes from a fixed seed (xorshift32), for content that crosses chunk boundaries. */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed | 1;
  for (let index = 0; index < length; index += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[index] = state & 0xff;
  }
  return out;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  expect((error as { code?: string }).code).toBe(code);
  return error as Error;
}

/** Entries under a library folder; [] when the folder was never created. */
async function entriesOf(path: string): Promise<string[]> {
  return readdir(path, { recursive: true }).catch(() => []);
}

describe('importPackageSource', () => {
  it('hashes every file with its known SHA-256 and copies it byte for byte', async () => {
    const large = bytes(3 * 1024 * 1024 + 517, 42);
    const source = await sourceWith({
      'hello.txt': 'hello\n',
      'abc/abc': 'abc',
      empty: '',
      'bin/large.bin': large,
    });
    const library = await folder('library');
    const result = await importPackageSource(options(source, library));

    expect(result.fileCount).toBe(4);
    expect(result.totalSize).toBe(6 + 3 + 0 + large.byteLength);
    const opened = openDocument(
      'content-manifest',
      result.manifest.encoded,
      [siteKey.verifyingKey()],
      1,
      now,
    );
    expect(opened.payload.files).toEqual([
      {
        path: 'abc/abc',
        size: 3,
        sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      },
      { path: 'bin/large.bin', size: large.byteLength, sha256: sha256Hex(large) },
      { path: 'empty', size: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
      {
        path: 'hello.txt',
        size: 6,
        sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03',
      },
    ]);
    expect(opened.payload).toMatchObject({
      packageId: 'editor',
      packageVersion: '1.0',
      siteCode: 'ABC',
      totalSize: result.totalSize,
      issuedAt: '2026-03-01T12:00:00.000Z',
      expiresAt: new Date(now.getTime() + 3650 * 86_400_000).toISOString(),
    });
    const stored = join(library, 'editor', '1.0');
    expect(await readFile(join(stored, 'manifest.json'), 'utf8')).toBe(result.manifest.encoded);
    expect((await readFile(join(stored, 'files', 'bin', 'large.bin'))).equals(large)).toBe(true);
    expect(await readFile(join(stored, 'files', 'hello.txt'), 'utf8')).toBe('hello\n');
    expect((await readdir(library)).sort()).toEqual(['editor']);
  });

  it('writes identical manifest bytes for the same folder, key and time', async () => {
    const source = await sourceWith({
      'b/2.txt': 'two',
      'a.txt': 'one',
      'b/1.txt': bytes(2_000_000, 9),
      'a-b': 'x',
    });
    const first = await importPackageSource(options(source, await folder('library')));
    const second = await importPackageSource(options(source, await folder('library')));
    expect(second.manifest.encoded).toBe(first.manifest.encoded);
    expect(first.manifest.envelope.signatures[0]?.keyid).toBe(siteKey.keyId);
    const paths = JSON.parse(new TextDecoder().decode(first.manifest.payloadBytes)) as {
      files: { path: string }[];
    };
    expect(paths.files.map((file) => file.path)).toEqual(['a-b', 'a.txt', 'b/1.txt', 'b/2.txt']);
  });

  it('honours manifestValidityDays', async () => {
    const source = await sourceWith({ a: 'a' });
    const result = await importPackageSource(
      options(source, await folder('library'), { manifestValidityDays: 30 }),
    );
    const opened = openDocument(
      'content-manifest',
      result.manifest.encoded,
      [siteKey.verifyingKey()],
      1,
      now,
    );
    expect(opened.payload.expiresAt).toBe('2026-03-31T12:00:00.000Z');
  });

  it('reports progress from nothing to every file and byte', async () => {
    const source = await sourceWith({ a: bytes(100, 1), b: bytes(2_500_000, 2), c: 'c' });
    const seen: ImportProgress[] = [];
    await importPackageSource(options(source, await folder('library'), { onProgress: (p) => seen.push(p) }));
    expect(seen[0]).toEqual({ filesDone: 0, filesTotal: 3, bytesDone: 0, bytesTotal: 2_500_101 });
    expect(seen.at(-1)).toEqual({ filesDone: 3, filesTotal: 3, bytesDone: 2_500_101, bytesTotal: 2_500_101 });
    for (let index = 1; index < seen.length; index += 1) {
      expect(seen[index]!.bytesDone).toBeGreaterThanOrEqual(seen[index - 1]!.bytesDone);
    }
  });

  it('refuses to overwrite an existing package version', async () => {
    const library = await folder('library');
    const first = await importPackageSource(options(await sourceWith({ a: 'first' }), library));
    await expectCode(
      importPackageSource(options(await sourceWith({ a: 'second' }), library)),
      'ERR_PACKAGE_VERSION_EXISTS',
    );
    expect(await readFile(join(library, 'editor', '1.0', 'manifest.json'), 'utf8')).toBe(
      first.manifest.encoded,
    );
    expect(await readFile(join(library, 'editor', '1.0', 'files', 'a'), 'utf8')).toBe('first');
    expect(await readdir(library)).toEqual(['editor']);
  });

  it('refuses package ids and versions that cannot name a library folder', async () => {
    const source = await sourceWith({ a: 'a' });
    for (const [packageId, packageVersion] of [
      ['..', '1'],
      ['a/b', '1'],
      ['a', '.hidden'],
      ['a', 'x'.repeat(65)],
      ['a:b', '1'],
    ] as const) {
      await expectCode(
        importPackageSource(options(source, await folder('library'), { packageId, packageVersion })),
        'ERR_INVALID_REQUEST',
      );
    }
  });

  it('leaves no visible version and no work folder when the import fails midway', async () => {
    const source = await sourceWith({ a: 'a', b: bytes(1_500_000, 3), c: 'c', d: 'd' });
    const library = await folder('library');
    const failure = new Error('simulated crash');
    const caught = await importPackageSource(
      options(source, library, {
        onProgress: (progress) => {
          if (progress.filesDone === 2) throw failure;
        },
      }),
    ).catch((error: unknown) => error);
    expect(caught).toBe(failure);
    expect(await entriesOf(library)).toEqual([]);
    expect(await listPackageVersions(library)).toEqual([]);
    await expect(openPackage(library, 'editor', '1.0')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('fails when a file changes size during the import', async () => {
    const source = await sourceWith({ a: 'a', b: 'bbbb' });
    const library = await folder('library');
    const error = await expectCode(
      importPackageSource(
        options(source, library, {
          onProgress: (progress) => {
            if (progress.filesDone === 0) appendFileSync(join(source, 'b'), 'grown');
          },
        }),
      ),
      'ERR_PACKAGE_SOURCE',
    );
    expect(error.message).toContain('b');
    expect(await entriesOf(library)).toEqual([]);
  });
});

describe('importPackageSource refuses sources a package cannot carry', () => {
  it('refuses a symbolic link, naming its path', async () => {
    const source = await sourceWith({ 'real.txt': 'x', 'sub/ok': 'y' });
    await symlink('/etc/passwd', join(source, 'sub', 'link'));
    const library = await folder('library');
    const error = await expectCode(importPackageSource(options(source, library)), 'ERR_PACKAGE_SOURCE');
    expect(error.message).toContain('sub/link');
    expect(error.message).toMatch(/symbolic link/i);
    expect(await entriesOf(library)).toEqual([]);
  });

  it('refuses a symbolic link to a folder', async () => {
    const source = await sourceWith({ 'real.txt': 'x' });
    await symlink('/etc', join(source, 'etc'));
    await expectCode(importPackageSource(options(source, await folder('library'))), 'ERR_PACKAGE_SOURCE');
  });

  it('refuses a named pipe', async () => {
    const source = await sourceWith({ 'real.txt': 'x' });
    execFileSync('mkfifo', [join(source, 'pipe')]);
    const error = await expectCode(
      importPackageSource(options(source, await folder('library'))),
      'ERR_PACKAGE_SOURCE',
    );
    expect(error.message).toContain('pipe');
  });

  it('refuses a socket', async () => {
    const source = await sourceWith({ 'real.txt': 'x' });
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(source, 'control.sock'), resolve));
    try {
      const error = await expectCode(
        importPackageSource(options(source, await folder('library'))),
        'ERR_PACKAGE_SOURCE',
      );
      expect(error.message).toContain('control.sock');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses names the manifest schema would reject', async () => {
    for (const name of ['c:drive', 'back\\slash', 'tab\there', 'new\nline']) {
      const source = await sourceWith({ ok: 'x', [name]: 'y' });
      const error = await expectCode(
        importPackageSource(options(source, await folder('library'))),
        'ERR_PACKAGE_SOURCE',
      );
      expect(error.message).toContain(JSON.stringify(name));
    }
  });

  it('refuses an empty source and a source that is not a folder', async () => {
    await expectCode(
      importPackageSource(options(await folder('empty'), await folder('library'))),
      'ERR_PACKAGE_SOURCE',
    );
    const source = await sourceWith({ file: 'x' });
    await expectCode(
      importPackageSource(options(join(source, 'file'), await folder('library'))),
      'ERR_PACKAGE_SOURCE',
    );
    await expectCode(
      importPackageSource(options(join(source, 'absent'), await folder('library'))),
      'ERR_PACKAGE_SOURCE',
    );
  });

  it('refuses a library inside the source folder', async () => {
    const source = await sourceWith({ file: 'x' });
    await expectCode(importPackageSource(options(source, join(source, 'library'))), 'ERR_PACKAGE_SOURCE');
  });
});

describe('importPackageSource checks its limits before copying anything', () => {
  it('refuses more than 10,000 files', async () => {
    const source = await folder('many');
    // 10,001 names for one empty file: hard links are far cheaper to create than new files.
    await writeFile(join(source, 'f'), '');
    for (let batch = 0; batch < 10; batch += 1) {
      await Promise.all(
        Array.from({ length: 1000 }, (_, index) =>
          link(join(source, 'f'), join(source, `l${batch}-${index}`)),
        ),
      );
    }
    expect((await readdir(source)).length).toBe(10_001);
    const library = await folder('library');
    const error = await expectCode(importPackageSource(options(source, library)), 'ERR_PACKAGE_LIMIT');
    expect(error.message).toContain('10000');
    expect(await entriesOf(library)).toEqual([]);
  });

  it('refuses a total size over the cap', async () => {
    const source = await sourceWith({ a: bytes(600, 1), b: bytes(600, 2) });
    const library = join(await folder('parent'), 'library');
    let progressCalls = 0;
    await expectCode(
      importPackageSource(
        options(source, library, { limits: { maxTotalBytes: 1000 }, onProgress: () => (progressCalls += 1) }),
      ),
      'ERR_PACKAGE_LIMIT',
    );
    expect(progressCalls).toBe(0);
    expect(await entriesOf(library)).toEqual([]);
  });

  it('refuses a path longer than 1024 bytes', async () => {
    const segment = 'é'.repeat(100); // 200 bytes each
    const source = await sourceWith({
      [[segment, segment, segment, segment, segment, segment, 'x'].join('/')]: 'x',
    });
    const library = await folder('library');
    await expectCode(importPackageSource(options(source, library)), 'ERR_PACKAGE_LIMIT');
    expect(await entriesOf(library)).toEqual([]);
  });

  it('refuses a lower file count limit when one is configured', async () => {
    const source = await sourceWith({ a: 'a', b: 'b', c: 'c' });
    await expectCode(
      importPackageSource(options(source, await folder('library'), { limits: { maxFiles: 2 } })),
      'ERR_PACKAGE_LIMIT',
    );
  });
});
