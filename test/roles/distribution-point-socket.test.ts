/**
 * The distribution point over a real loopback socket: what `inject` cannot show (raw request
 * paths that no client library would normalise, and memory use while a large file streams).
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { distributionPointPaths } from '../../src/protocol/index.js';
import { distributionPointRoutes } from '../../src/roles/distribution-point/index.js';
import { importPackageSource, type PackageFile } from '../../src/site/content-library/index.js';
import { createSha256, parsePayload, SigningKey } from '../../src/trust/index.js';

const siteKey = SigningKey.fromSeed(new Uint8Array(32).fill(7));
const now = new Date('2026-03-01T12:00:00.000Z');
const mebibyte = 1024 * 1024;
const largeSize = 64 * mebibyte;

let root: string;
let app: FastifyInstance;
let base: string;
let manifestFiles: PackageFile[];

/** Fills `chunk` with 1 MiB chunk `index` of the large file: its index, then a pattern of its own. */
function fillChunk(chunk: Buffer, index: number): Buffer {
  chunk.fill((index * 37) & 0xff);
  chunk.writeUInt32BE(index, 0);
  return chunk;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'steward-dp-socket-'));
  const source = join(root, 'source');
  await mkdir(join(source, 'bin'), { recursive: true });
  await writeFile(join(source, 'hello.txt'), 'hello\n');
  await writeFile(join(root, 'outside.txt'), 'SECRT\n');
  const large = await open(join(source, 'bin', 'large.bin'), 'w');
  const chunk = Buffer.alloc(mebibyte); // one buffer, refilled: the setup leaves no garbage behind
  for (let index = 0; index < largeSize / mebibyte; index += 1) await large.write(fillChunk(chunk, index));
  await large.close();
  const libraryDir = join(root, 'library');
  const result = await importPackageSource({
    sourceDir: source,
    libraryDir,
    packageId: 'big',
    packageVersion: '1',
    siteCode: 'ABC',
    siteKey,
    now,
  });
  manifestFiles = parsePayload('content-manifest', result.manifest.payloadBytes).files;
  app = fastify();
  await app.register(distributionPointRoutes, { libraryDir });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app.close();
  await rm(root, { recursive: true, force: true });
});

/** Downloads url with fetch, hashing chunk by chunk; `sample` is read after every chunk (its maximum is `peak`). */
async function download(
  url: string,
  sample: () => number = () => 0,
): Promise<{ received: number; sha256: string; peak: number }> {
  const response = await fetch(url);
  expect(response.headers.get('content-length')).toBe(String(largeSize));
  const hash = createSha256();
  let received = 0;
  let peak = sample();
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    received += chunk.byteLength;
    peak = Math.max(peak, sample());
  }
  return { received, sha256: hash.digestHex(), peak };
}

/** A full garbage collection; vitest runs without --expose-gc, so the flag is set at run time. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** How many of this process's open file descriptors point at a file whose path ends with `name`. */
function descriptorsOf(name: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).endsWith(name);
    } catch {
      return false; // closed between the listing and the lookup
    }
  }).length;
}

/** A GET with the path sent exactly as written (fetch and URL would normalise it first). */
async function rawGet(path: string): Promise<{ status: number; body: string }> {
  const { port } = app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, path, method: 'GET' }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('distribution point over a loopback socket', () => {
  it('serves a whole file and a range to fetch', async () => {
    const whole = await fetch(`${base}${distributionPointPaths.file('big', '1', 'hello.txt')}`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(await whole.text()).toBe('hello\n');
    const part = await fetch(`${base}${distributionPointPaths.file('big', '1', 'bin/large.bin')}`, {
      headers: { range: `bytes=${largeSize - 10}-` },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes ${largeSize - 10}-${largeSize - 1}/${largeSize}`);
    expect(
      Buffer.from(await part.arrayBuffer()).equals(
        fillChunk(Buffer.alloc(mebibyte), 63).subarray(mebibyte - 10),
      ),
    ).toBe(true);
  });

  it.each([
    '/dp/v1/packages/big/1/files/../../../outside.txt',
    '/dp/v1/packages/big/1/files/../../../../../../../../etc/passwd',
    '/dp/v1/packages/big/1/files/%2e%2e/%2e%2e/%2e%2e/outside.txt',
    '/dp/v1/packages/big/1/files/..%2f..%2f..%2foutside.txt',
    '/dp/v1/packages/big/1/files/bin/..%2f..%2fmanifest.json',
    '/dp/v1/packages/big/1/files//etc/passwd',
    '/dp/v1/packages/big/1/files/%2fetc%2fpasswd',
    '/dp/v1/packages/big/1/files/..\\..\\..\\outside.txt',
    '/dp/v1/packages/big/1/files/..%5c..%5c..%5coutside.txt',
    '/dp/v1/packages/big/1/files/hello.txt%00',
    '/dp/v1/packages/big/1/files/./hello.txt',
    '/dp/v1/packages/big/1/files/bin/./large.bin',
    '/dp/v1/packages/../../outside.txt',
    '/dp/v1/packages/%2e%2e/1/files/outside.txt',
    '/dp/v1/packages/big/%2e%2e/files/outside.txt',
  ])('404 for the raw path %s', async (path) => {
    const response = await rawGet(path);
    expect(response.status).toBe(404);
    expect(response.body).not.toContain('SECRT');
    expect(response.body).not.toContain('root:');
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'ERR_NOT_FOUND' } });
  });

  it('closes the file after HEAD, 416 and when a client goes away mid-download', async () => {
    const url = `${base}${distributionPointPaths.file('big', '1', 'bin/large.bin')}`;
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(url, { headers: { range: `bytes=${largeSize}-` } })).status).toBe(416);
    expect(descriptorsOf('large.bin')).toBe(0);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const aborter = new AbortController();
      const response = await fetch(url, { signal: aborter.signal });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      expect(descriptorsOf('large.bin')).toBeGreaterThan(0);
      aborter.abort();
      await reader.closed.catch(() => undefined);
    }
    await vi.waitFor(() => expect(descriptorsOf('large.bin')).toBe(0), { timeout: 5000 });
  });

  it('streams a 64 MiB file without holding it in memory', async () => {
    const url = `${base}${distributionPointPaths.file('big', '1', 'bin/large.bin')}`;
    // A first download warms every code path and buffer pool; a full collection then sets a clean baseline.
    await download(url);
    collectGarbage();
    const before = process.memoryUsage().rss;
    const measured = await download(url, () => process.memoryUsage().rss);
    expect(measured.received).toBe(largeSize);
    expect(measured.sha256).toBe(manifestFiles.find((file) => file.path === 'bin/large.bin')!.sha256);
    expect(measured.peak - before).toBeLessThan(32 * mebibyte);
  });
});
