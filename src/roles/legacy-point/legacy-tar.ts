/**
 * A package version as one deterministic tar stream for legacy clients (docs/legacy-client.md):
 * POSIX ustar, files in byte order of their paths, mode 0644, owner 0:0, mtime 0, no directory
 * entries; a pax extended header only for a path that does not fit ustar's name and prefix fields
 * or a file of 8 GiB or more. The same package version therefore always gives the same bytes, and
 * the SHA-256 of those bytes can be signed in a client's list before the tar is ever sent.
 *
 * Every file is streamed from the content library through a C5 verifier against the manifest, so a
 * library file that changed on disk stops the stream (and the client's hash check fails).
 */
import {
  chunkBytes,
  openPackageFile,
  sameStamp,
  manifestStamp,
  type OpenedPackage,
} from '../../site/content-library/index.js';
import { createContentVerifier, createSha256, sha256Hex } from '../../trust/index.js';

const block = 512;
const maxOctalSize = 0o77777777777;
const encoder = new TextEncoder();

function field(header: Buffer, offset: number, length: number, text: string): void {
  header.write(text, offset, Math.min(length, Buffer.byteLength(text)), 'utf8');
}

function octal(value: number, digits: number): string {
  return `${value.toString(8).padStart(digits, '0')}\0`;
}

/** One 512-byte header block. */
function headerBlock(name: string, prefix: string, size: number, type: '0' | 'x'): Buffer {
  const header = Buffer.alloc(block);
  field(header, 0, 100, name);
  field(header, 100, 8, octal(0o644, 7));
  field(header, 108, 8, octal(0, 7));
  field(header, 116, 8, octal(0, 7));
  field(header, 124, 12, octal(size > maxOctalSize ? 0 : size, 11));
  field(header, 136, 12, octal(0, 11));
  field(header, 148, 8, '        ');
  field(header, 156, 1, type);
  field(header, 257, 6, 'ustar\0');
  field(header, 263, 2, '00');
  field(header, 329, 8, octal(0, 7));
  field(header, 337, 8, octal(0, 7));
  field(header, 345, 155, prefix);
  let sum = 0;
  for (const byte of header) sum += byte;
  field(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/** ustar's name and prefix for a path, or undefined when it needs a pax header. */
function splitPath(path: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let at = path.indexOf('/'); at >= 0; at = path.indexOf('/', at + 1)) {
    const prefix = path.slice(0, at);
    const name = path.slice(at + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') {
      return { name, prefix };
    }
  }
  return undefined;
}

/** A pax record `LEN key=value\n`, where LEN counts the whole record, itself included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return `${length}${body}`;
}

function padding(size: number): Buffer {
  const rest = size % block;
  return Buffer.alloc(rest === 0 ? 0 : block - rest);
}

/** The header blocks of one file (a pax header first when ustar cannot say it). */
export function fileHeader(path: string, size: number): Buffer {
  const split = splitPath(path);
  if (split !== undefined && size <= maxOctalSize) return headerBlock(split.name, split.prefix, size, '0');
  const records = encoder.encode(
    (split === undefined ? paxRecord('path', path) : '') +
      (size > maxOctalSize ? paxRecord('size', String(size)) : ''),
  );
  const placeholder = split ?? { name: `long-path-${sha256Hex(path).slice(0, 32)}`, prefix: '' };
  return Buffer.concat([
    headerBlock(`PaxHeaders/${placeholder.name}`.slice(0, 100), '', records.byteLength, 'x'),
    Buffer.from(records),
    padding(records.byteLength),
    headerBlock(placeholder.name, placeholder.prefix, size, '0'),
  ]);
}

/** The tar bytes of a package version, streamed, each file checked against the manifest (C5). */
export async function* packageTar(pkg: OpenedPackage): AsyncGenerator<Uint8Array> {
  const files = [...pkg.manifest.files].sort((a, b) =>
    Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)),
  );
  for (const entry of files) {
    yield fileHeader(entry.path, entry.size);
    const { handle } = await openPackageFile(pkg, entry.path);
    try {
      const verifier = createContentVerifier({ size: entry.size, sha256: entry.sha256 });
      const buffer = Buffer.alloc(Math.min(chunkBytes, Math.max(entry.size, 1)));
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        const chunk = Buffer.from(buffer.subarray(0, bytesRead));
        verifier.update(chunk);
        yield chunk;
      }
      verifier.finish();
    } finally {
      await handle.close();
    }
    yield padding(entry.size);
  }
  yield Buffer.alloc(2 * block);
}

export interface TarDigest {
  sha256: string;
  size: number;
}

/**
 * SHA-256 and size of each package version's tar, computed once by streaming it (the library is
 * immutable per version; a replaced manifest is noticed by its stamp).
 */
export class TarDigests {
  readonly #entries = new Map<string, { stamp: OpenedPackage['stamp']; digest: TarDigest }>();
  readonly #pending = new Map<string, Promise<TarDigest>>();

  async of(pkg: OpenedPackage): Promise<TarDigest> {
    const key = `${pkg.packageId}/${pkg.packageVersion}/${pkg.manifestHash}`;
    const known = this.#entries.get(key);
    if (known !== undefined) {
      const stamp = await manifestStamp(pkg.libraryDir, pkg.packageId, pkg.packageVersion);
      if (sameStamp(stamp, known.stamp)) return known.digest;
      this.#entries.delete(key);
    }
    const pending = this.#pending.get(key);
    if (pending !== undefined) return pending;
    const work = digestOf(pkg)
      .then((digest) => {
        if (this.#entries.size >= 1000) this.#entries.clear();
        this.#entries.set(key, { stamp: pkg.stamp, digest });
        return digest;
      })
      .finally(() => this.#pending.delete(key));
    this.#pending.set(key, work);
    return work;
  }
}

async function digestOf(pkg: OpenedPackage): Promise<TarDigest> {
  const hash = createSha256();
  let size = 0;
  for await (const chunk of packageTar(pkg)) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digestHex(), size };
}
