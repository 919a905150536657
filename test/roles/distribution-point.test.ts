import { mkdir, mkdtemp, rm, symlink, truncate, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastify, { type FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distributionPointPaths } from '../../src/protocol/index.js';
import { distributionPointRoutes, PackageCache } from '../../src/roles/distribution-point/index.js';
import {
  importPackageSource,
  removePackageVersion,
  type ImportResult,
} from '../../src/site/content-library/index.js';
import { openDocument, SigningKey } from '../../src/trust/index.js';

const siteKey = SigningKey.fromSeed(new Uint8Array(32).fill(7));
const now = new Date('2026-03-01T12:00:00.000Z');
const secret = 'SECRT\n'; // as long as hello.txt, so a size check alone would not stop it

/** Pseudo-random bytes from a fixed seed (xorshift32). */
function bytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed | 1;
  for (let index = 0; index < length; index += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[index] = state & 0xff;
  }
  return out;
}

const data = bytes(2 * 1024 * 1024 + 4321, 11); // crosses the 1 MiB chunk boundaries
const files: Record<string, Buffer> = {
  'hello.txt': Buffer.from('hello\n'),
  'sub/dir/data.bin': data,
  empty: Buffer.alloc(0),
  'name with space & ü.txt': Buffer.from('unicode'),
};

let root: string;
let library: string;
let app: FastifyInstance;
let imported: ImportResult;
const logLines: { level: number; msg: string; [key: string]: unknown }[] = [];

async function importInto(
  libraryDir: string,
  packageId: string,
  packageVersion: string,
  content = files,
): Promise<ImportResult> {
  const source = await mkdtemp(join(root, 'source-'));
  for (const [path, body] of Object.entries(content)) {
    await mkdir(join(source, path, '..'), { recursive: true });
    await writeFile(join(source, path), body);
  }
  return importPackageSource({
    sourceDir: source,
    libraryDir,
    packageId,
    packageVersion,
    siteCode: 'ABC',
    siteKey,
    now,
  });
}

async function makeApp(libraryDir: string, cache?: PackageCache): Promise<FastifyInstance> {
  const server = fastify({
    logger: {
      level: 'warn',
      stream: { write: (line: string) => logLines.push(JSON.parse(line) as (typeof logLines)[number]) },
    },
  });
  await server.register(
    distributionPointRoutes,
    cache === undefined ? { libraryDir } : { libraryDir, cache },
  );
  await server.ready();
  return server;
}

/** The imported manifest's payload, as the import signed it. */
function manifestPayload(): { files: { path: string; sha256: string }[] } {
  return JSON.parse(new TextDecoder().decode(imported.manifest.payloadBytes)) as {
    files: { path: string; sha256: string }[];
  };
}

const fileUrl = (path: string, id = 'editor', version = '1.0') =>
  distributionPointPaths.file(id, version, path);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'steward-dp-'));
  library = join(root, 'library');
  imported = await importInto(library, 'editor', '1.0');
  await writeFile(join(root, 'outside.txt'), secret);
  await writeFile(join(library, 'outside.txt'), secret);
  await writeFile(join(library, 'editor', 'outside.txt'), secret);
  app = await makeApp(library);
});
afterAll(async () => {
  await app.close();
  await rm(root, { recursive: true, force: true });
});

describe('GET /dp/v1/packages/:id/:version/manifest', () => {
  it('serves the stored envelope, which opens with the site key', async () => {
    const response = await app.inject({ url: distributionPointPaths.manifest('editor', '1.0') });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toBe(imported.manifest.encoded);
    expect(response.headers.etag).toBe(`"${imported.manifest.hash}"`);
    const opened = openDocument('content-manifest', response.body, [siteKey.verifyingKey()], 1, now);
    expect(opened.payload.files).toHaveLength(4);
    const head = await app.inject({ method: 'HEAD', url: distributionPointPaths.manifest('editor', '1.0') });
    expect(head.statusCode).toBe(200);
    expect(head.headers.etag).toBe(response.headers.etag);
    expect(head.body).toBe('');
  });

  it('answers 404 ERR_NOT_FOUND for an absent version or an id outside the rule', async () => {
    for (const url of [
      '/dp/v1/packages/editor/2.0/manifest',
      '/dp/v1/packages/other/1.0/manifest',
      `/dp/v1/packages/${'a'.repeat(65)}/1.0/manifest`,
      '/dp/v1/packages/editor/.hidden/manifest',
      '/dp/v1/packages/%2e%2e/1.0/manifest',
      '/dp/v1/packages/editor/1.0%2f..%2f1.0/manifest',
      '/dp/v1/nothing-here',
    ]) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(404);
      expect(response.json()).toEqual({
        error: { code: 'ERR_NOT_FOUND', message: expect.any(String) as string, retryable: false },
      });
    }
  });
});

describe('GET and HEAD /dp/v1/packages/:id/:version/files/*', () => {
  it('serves each file whole with its length, ETag and Accept-Ranges', async () => {
    for (const [path, body] of Object.entries(files)) {
      const response = await app.inject({ url: fileUrl(path) });
      expect(response.statusCode, path).toBe(200);
      expect(response.rawPayload.equals(body), path).toBe(true);
      const entry = manifestPayload();
      expect(response.headers).toMatchObject({
        'content-type': 'application/octet-stream',
        'content-length': String(body.byteLength),
        'accept-ranges': 'bytes',
        etag: `"${entry.files.find((file) => file.path === path)!.sha256}"`,
      });
      expect(response.headers['content-range']).toBeUndefined();
    }
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const response = await app.inject({ method: 'HEAD', url: fileUrl('sub/dir/data.bin') });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-length']).toBe(String(data.byteLength));
    expect(response.headers['accept-ranges']).toBe('bytes');
    expect(response.rawPayload.byteLength).toBe(0);
    const partial = await app.inject({
      method: 'HEAD',
      url: fileUrl('sub/dir/data.bin'),
      headers: { range: 'bytes=10-19' },
    });
    expect(partial.statusCode).toBe(206);
    expect(partial.headers['content-length']).toBe('10');
    expect(partial.headers['content-range']).toBe(`bytes 10-19/${data.byteLength}`);
    expect(partial.rawPayload.byteLength).toBe(0);
  });

  it('serves exactly the requested single range (property)', async () => {
    const size = data.byteLength;
    const position = fc.integer({ min: 0, max: size + 16 });
    type Spec = { header: string; first?: number; last?: number; suffix?: number };
    const spec: fc.Arbitrary<Spec> = fc.oneof(
      fc
        .tuple(position, position)
        .map(([first, last]) => ({ header: `bytes=${first}-${last}`, first, last })),
      position.map((first) => ({ header: `bytes=${first}-`, first })),
      position.map((suffix) => ({ header: `bytes=-${suffix}`, suffix })),
    );
    await fc.assert(
      fc.asyncProperty(spec, async ({ header, first = 0, last, suffix }) => {
        const response = await app.inject({ url: fileUrl('sub/dir/data.bin'), headers: { range: header } });
        let start: number;
        let end: number;
        if (suffix !== undefined) {
          if (suffix === 0) return expectUnsatisfiable(response, size);
          [start, end] = [Math.max(0, size - suffix), size - 1];
        } else {
          if (last !== undefined && last < first) return expectWhole(response);
          if (first >= size) return expectUnsatisfiable(response, size);
          [start, end] = [first, Math.min(last ?? Infinity, size - 1)];
        }
        expect(response.statusCode).toBe(206);
        expect(response.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
        expect(response.headers['content-length']).toBe(String(end - start + 1));
        expect(response.rawPayload.equals(data.subarray(start, end + 1))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('answers 416 with Content-Range bytes */size for a range past the end', async () => {
    for (const [path, range] of [
      ['hello.txt', 'bytes=6-'],
      ['hello.txt', 'bytes=100-200'],
      ['hello.txt', 'bytes=-0'],
      ['empty', 'bytes=0-'],
      ['empty', 'bytes=-5'],
      ['hello.txt', 'bytes=99999999999999999999999-'],
    ] as const) {
      const response = await app.inject({ url: fileUrl(path), headers: { range } });
      expectUnsatisfiable(response, files[path]!.byteLength);
    }
  });

  it('serves the whole file for several ranges, a malformed range or a stale If-Range', async () => {
    for (const headers of [
      { range: 'bytes=0-1,4-5' },
      { range: 'bytes=0-1, 4-5' },
      { range: 'bytes=3-1' },
      { range: 'items=0-1' },
      { range: 'bytes=a-b' },
      { range: 'bytes=-' },
      { range: 'bytes=0-1', 'if-range': '"0000"' },
      { range: 'bytes=0-1', 'if-range': 'Wed, 21 Oct 2015 07:28:00 GMT' },
    ]) {
      const response = await app.inject({ url: fileUrl('hello.txt'), headers });
      expectWhole(response, JSON.stringify(headers));
    }
  });

  it('honours a range whose If-Range is the current ETag', async () => {
    const head = await app.inject({ method: 'HEAD', url: fileUrl('hello.txt') });
    const response = await app.inject({
      url: fileUrl('hello.txt'),
      headers: { range: 'bytes=1-3', 'if-range': head.headers.etag! },
    });
    expect(response.statusCode).toBe(206);
    expect(response.body).toBe('ell');
    const huge = await app.inject({
      url: fileUrl('hello.txt'),
      headers: { range: 'bytes=2-99999999999999999999' },
    });
    expect(huge.statusCode).toBe(206);
    expect(huge.body).toBe('llo\n');
  });
});

function expectUnsatisfiable(response: Awaited<ReturnType<FastifyInstance['inject']>>, size: number): void {
  expect(response.statusCode).toBe(416);
  expect(response.headers['content-range']).toBe(`bytes */${size}`);
  expect(response.json()).toMatchObject({ error: { code: 'ERR_RANGE_NOT_SATISFIABLE' } });
}

function expectWhole(response: Awaited<ReturnType<FastifyInstance['inject']>>, what = ''): void {
  expect(response.statusCode, what).toBe(200);
  expect(response.headers['content-range'], what).toBeUndefined();
  expect(Number(response.headers['content-length']), what).toBe(response.rawPayload.byteLength);
}

describe('the distribution point never serves bytes from outside the package', () => {
  const attempts = [
    '/dp/v1/packages/editor/1.0/files/../../outside.txt',
    '/dp/v1/packages/editor/1.0/files/../manifest.json',
    '/dp/v1/packages/editor/1.0/files/%2e%2e/%2e%2e/outside.txt',
    '/dp/v1/packages/editor/1.0/files/%2E%2E%2F%2E%2E%2Foutside.txt',
    '/dp/v1/packages/editor/1.0/files/..%2f..%2f..%2foutside.txt',
    '/dp/v1/packages/editor/1.0/files/sub/..%2f..%2f..%2f..%2foutside.txt',
    '/dp/v1/packages/editor/1.0/files/%252e%252e%252foutside.txt',
    '/dp/v1/packages/editor/1.0/files//etc/passwd',
    '/dp/v1/packages/editor/1.0/files/%2Fetc%2Fpasswd',
    `/dp/v1/packages/editor/1.0/files/${encodeURIComponent(join(tmpdir(), 'outside.txt'))}`,
    '/dp/v1/packages/editor/1.0/files/..\\..\\outside.txt',
    '/dp/v1/packages/editor/1.0/files/..%5c..%5coutside.txt',
    '/dp/v1/packages/editor/1.0/files/sub%5cdir%5cdata.bin',
    '/dp/v1/packages/editor/1.0/files/hello.txt%00',
    '/dp/v1/packages/editor/1.0/files/hello.txt%00.png',
    '/dp/v1/packages/editor/1.0/files/sub/dir',
    '/dp/v1/packages/editor/1.0/files/',
    '/dp/v1/packages/editor/1.0/files/HELLO.TXT',
    '/dp/v1/packages/%2e%2e/editor/files/outside.txt',
    '/dp/v1/packages/editor/%2e%2e/files/outside.txt',
  ];

  it.each(attempts)('404 for %s', async (url) => {
    const response = await app.inject({ url });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: { code: 'ERR_NOT_FOUND' } });
    expect(response.body).not.toContain('SECRT');
    expect(response.body).not.toContain('root:');
  });

  it('404 for a symbolic link planted in the library after import, with a log line', async () => {
    const planted = join(root, 'planted');
    await importInto(planted, 'editor', '1.0');
    const server = await makeApp(planted);
    try {
      const files = join(planted, 'editor', '1.0', 'files');
      await rm(join(files, 'hello.txt'));
      await symlink(join(root, 'outside.txt'), join(files, 'hello.txt'));
      await mkdir(join(root, 'fake-sub', 'dir'), { recursive: true });
      await writeFile(join(root, 'fake-sub', 'dir', 'data.bin'), bytes(data.byteLength, 99));
      await rm(join(files, 'sub'), { recursive: true });
      await symlink(join(root, 'fake-sub'), join(files, 'sub'));
      logLines.length = 0;
      for (const path of ['hello.txt', 'sub/dir/data.bin']) {
        for (const method of ['GET', 'HEAD'] as const) {
          const response = await server.inject({ method, url: fileUrl(path) });
          expect(response.statusCode, `${method} ${path}`).toBe(404);
          expect(response.body).not.toContain('SECRT');
        }
      }
      expect(
        logLines.some(
          (line) => line.msg.includes('symbolic link') && line['link'] === 'editor/1.0/files/hello.txt',
        ),
      ).toBe(true);
      expect(logLines.some((line) => line['link'] === 'editor/1.0/files/sub')).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('404 for a version folder or manifest replaced by a symbolic link', async () => {
    const planted = join(root, 'planted-version');
    await importInto(planted, 'editor', '1.0');
    await cp(join(planted, 'editor', '1.0'), join(root, 'copied-version'), { recursive: true });
    await symlink(join(root, 'copied-version'), join(planted, 'editor', '2.0'));
    await symlink(join(planted, 'editor', '1.0', 'manifest.json'), join(planted, 'editor', 'manifest.json'));
    const server = await makeApp(planted);
    try {
      expect(
        (await server.inject({ url: distributionPointPaths.manifest('editor', '2.0') })).statusCode,
      ).toBe(404);
      expect((await server.inject({ url: fileUrl('hello.txt', 'editor', '2.0') })).statusCode).toBe(404);
      expect((await server.inject({ url: fileUrl('hello.txt', 'editor', '1.0') })).statusCode).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('damaged content and removed versions', () => {
  it('answers 503 ERR_CONTENT_CORRUPT, with a log line, when a file size differs from the manifest', async () => {
    const damaged = join(root, 'damaged');
    await importInto(damaged, 'editor', '1.0');
    const server = await makeApp(damaged);
    try {
      await truncate(join(damaged, 'editor', '1.0', 'files', 'sub', 'dir', 'data.bin'), 1000);
      await rm(join(damaged, 'editor', '1.0', 'files', 'hello.txt'));
      logLines.length = 0;
      for (const path of ['sub/dir/data.bin', 'hello.txt']) {
        const response = await server.inject({ url: fileUrl(path), headers: { range: 'bytes=0-10' } });
        expect(response.statusCode).toBe(503);
        expect(response.json()).toMatchObject({ error: { code: 'ERR_CONTENT_CORRUPT', retryable: true } });
      }
      expect(
        logLines.filter((line) => line.level === 50 && line['code'] === 'ERR_CONTENT_CORRUPT'),
      ).toHaveLength(2);
      expect((await server.inject({ url: fileUrl('name with space & ü.txt') })).statusCode).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('forgets a removed version and sees a re-imported one', async () => {
    const changing = join(root, 'changing');
    const first = await importInto(changing, 'editor', '1.0');
    const cache = new PackageCache(changing, 2);
    const server = await makeApp(changing, cache);
    try {
      expect((await server.inject({ url: distributionPointPaths.manifest('editor', '1.0') })).body).toBe(
        first.manifest.encoded,
      );
      expect(cache.size).toBe(1);
      await removePackageVersion(changing, 'editor', '1.0');
      expect(
        (await server.inject({ url: distributionPointPaths.manifest('editor', '1.0') })).statusCode,
      ).toBe(404);
      expect((await server.inject({ url: fileUrl('hello.txt') })).statusCode).toBe(404);
      const second = await importInto(changing, 'editor', '1.0', { 'hello.txt': Buffer.from('changed\n') });
      expect((await server.inject({ url: distributionPointPaths.manifest('editor', '1.0') })).body).toBe(
        second.manifest.encoded,
      );
      expect((await server.inject({ url: fileUrl('hello.txt') })).body).toBe('changed\n');
    } finally {
      await server.close();
    }
  });

  it('keeps at most its configured number of manifests', async () => {
    const many = join(root, 'many');
    for (const version of ['1', '2', '3']) await importInto(many, 'editor', version);
    const cache = new PackageCache(many, 2);
    for (const version of ['1', '2', '3', '1']) await cache.get('editor', version);
    expect(cache.size).toBe(2);
    cache.invalidate('editor', '1');
    expect(cache.size).toBe(1);
  });
});
