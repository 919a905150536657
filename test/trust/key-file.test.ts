/**
 * Key files at rest: round trips, wrong secrets, damaged files, mode 0600, C6 size cap.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretFile, readKeyFile, SigningKey, writeKeyFile } from '../../src/trust/index.js';

const fast = { cost: { N: 1024, r: 8, p: 1 } };
const passphrase = { passphrase: 'the quick brown fox' };
let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'steward-key-file-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('key files', () => {
  it('round-trips with a passphrase; the file is mode 0600 and holds no plain key', async () => {
    const key = SigningKey.generate();
    const path = join(folder, 'passphrase.key');
    await writeKeyFile(path, key, passphrase, fast);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const read = await readKeyFile(path, passphrase);
    expect(read.keyId).toBe(key.keyId);
    const data = Buffer.from('x');
    expect(Buffer.from(read.sign(data))).toEqual(Buffer.from(key.sign(data)));
    const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(file)).toEqual([
      'format',
      'keyId',
      'publicKey',
      'kdf',
      'cipher',
      'iv',
      'ciphertext',
      'tag',
    ]);
    expect(file['format']).toBe('steward-key/v1');
    expect(file['cipher']).toBe('aes-256-gcm');
    expect(file['kdf']).toMatchObject({ name: 'scrypt', N: 1024, r: 8, p: 1 });
  });

  it('round-trips with a secret file; the secret file is 0600 and never overwritten', async () => {
    const secretFile = join(folder, 'secret');
    await createSecretFile(secretFile);
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    expect(Buffer.from((await readFile(secretFile, 'utf8')).trim(), 'base64')).toHaveLength(32);
    await expect(createSecretFile(secretFile)).rejects.toMatchObject({ code: 'ERR_KEY_FILE' });
    const key = SigningKey.generate();
    const path = join(folder, 'secret-file.key');
    await writeKeyFile(path, key, { secretFile }, fast);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readKeyFile(path, { secretFile })).keyId).toBe(key.keyId);
    await expect(readKeyFile(path, passphrase)).rejects.toMatchObject({ code: 'ERR_KEY_PASSPHRASE' });
  });

  it('overwrites an existing key file atomically and keeps mode 0600', async () => {
    const path = join(folder, 'replace.key');
    await writeFile(path, 'old', { mode: 0o644 });
    const key = SigningKey.generate();
    await writeKeyFile(path, key, passphrase, fast);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readKeyFile(path, passphrase)).keyId).toBe(key.keyId);
  });

  it('refuses a wrong passphrase (ERR_KEY_PASSPHRASE)', async () => {
    const path = join(folder, 'wrong.key');
    await writeKeyFile(path, SigningKey.generate(), passphrase, fast);
    await expect(readKeyFile(path, { passphrase: 'the quick brown fo' })).rejects.toMatchObject({
      code: 'ERR_KEY_PASSPHRASE',
    });
    await expect(readKeyFile(path, { passphrase: '' })).rejects.toMatchObject({ code: 'ERR_KEY_PASSPHRASE' });
  });

  it('refuses a truncated file, random garbage, a missing file and an unknown format (ERR_KEY_FILE)', async () => {
    const path = join(folder, 'damaged.key');
    await writeKeyFile(path, SigningKey.generate(), passphrase, fast);
    const text = await readFile(path, 'utf8');
    const cases = [
      text.slice(0, Math.floor(text.length / 2)),
      Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 97 + 13) % 256)).toString('latin1'),
      '',
      text.replace('steward-key/v1', 'steward-key/v2'),
      text.replace('"cipher": "aes-256-gcm"', '"cipher": "aes-128-gcm"'),
      JSON.stringify({ ...(JSON.parse(text) as object), extra: true }),
    ];
    for (const [index, content] of cases.entries()) {
      const damaged = join(folder, `damaged-${index}.key`);
      await writeFile(damaged, content, 'latin1');
      await expect(readKeyFile(damaged, passphrase), `case ${index}`).rejects.toMatchObject({
        code: 'ERR_KEY_FILE',
      });
    }
    await expect(readKeyFile(join(folder, 'missing.key'), passphrase)).rejects.toMatchObject({
      code: 'ERR_KEY_FILE',
    });
  });

  it('refuses a modified ciphertext or key id (authenticated, ERR_KEY_PASSPHRASE or ERR_KEY_FILE)', async () => {
    const path = join(folder, 'modified.key');
    await writeKeyFile(path, SigningKey.generate(), passphrase, fast);
    const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, string>;
    const ciphertext = Buffer.from(file['ciphertext']!, 'base64');
    ciphertext[0] = ciphertext[0]! ^ 1;
    await writeFile(path, JSON.stringify({ ...file, ciphertext: ciphertext.toString('base64') }));
    await expect(readKeyFile(path, passphrase)).rejects.toMatchObject({ code: 'ERR_KEY_PASSPHRASE' });
    const other = SigningKey.generate().publicRecord();
    await writeFile(path, JSON.stringify({ ...file, keyId: other.keyId }));
    await expect(readKeyFile(path, passphrase)).rejects.toMatchObject({ code: 'ERR_KEY_PASSPHRASE' });
  });

  it('refuses a key that does not match its key id even when it decrypts (ERR_KEY_FILE)', async () => {
    const path = join(folder, 'mismatch.key');
    await writeKeyFile(path, SigningKey.generate(), passphrase, fast);
    const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, string>;
    await writeFile(
      path,
      JSON.stringify({ ...file, publicKey: SigningKey.generate().publicRecord().publicKey }),
    );
    await expect(readKeyFile(path, passphrase)).rejects.toMatchObject({ code: 'ERR_KEY_FILE' });
  });

  it('C6 refuses a key file over 64 KiB before parsing, and unacceptable scrypt parameters', async () => {
    const big = join(folder, 'big.key');
    await writeFile(big, ' '.repeat(64 * 1024 + 1));
    await expect(readKeyFile(big, passphrase)).rejects.toMatchObject({ code: 'ERR_KEY_FILE' });
    const path = join(folder, 'costly.key');
    await writeKeyFile(path, SigningKey.generate(), passphrase, fast);
    const file = JSON.parse(await readFile(path, 'utf8')) as { kdf: Record<string, unknown> };
    await writeFile(path, JSON.stringify({ ...file, kdf: { ...file.kdf, N: 2 ** 30 } }));
    await expect(readKeyFile(path, passphrase)).rejects.toMatchObject({ code: 'ERR_KEY_FILE' });
  });

  it('reads the checked-in steward-key/v1 fixture (format stays readable)', async () => {
    const fixture = new URL('../fixtures/trust/key-file-v1.json', import.meta.url);
    const key = await readKeyFile(fixture.pathname, { passphrase: 'steward fixture passphrase' });
    expect(key.keyId).toBe('dcc7b0c7591f6401bc7295220b3c2f189d01dcf0ecf7133aed759d59ff8caf90');
  });
});
