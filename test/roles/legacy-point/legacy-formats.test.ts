/**
 * The legacy client's wire formats, in process: the deterministic tar (read back by GNU tar, long
 * paths included), the signed list (checked by openssl exactly as the shell client checks it), the
 * programs a legacy client cannot run, and the status lines.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileHeader } from '../../../src/roles/legacy-point/legacy-tar.js';
import {
  formatLegacyList,
  legacyListPayloadType,
  signLegacyList,
  unsupportedBecause,
} from '../../../src/roles/legacy-point/legacy-list.js';
import { parseLegacyStatus } from '../../../src/roles/legacy-point/legacy-status.js';
import { sitePublicKeyPem } from '../../../src/roles/legacy-point/site-key-pem.js';
import { pae, SigningKey, type PolicyBodyPayload } from '../../../src/trust/index.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'steward-legacy-formats-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function tarOf(files: readonly [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [path, body] of files) {
    parts.push(fileHeader(path, Buffer.byteLength(body)), Buffer.from(body));
    const rest = Buffer.byteLength(body) % 512;
    if (rest !== 0) parts.push(Buffer.alloc(512 - rest));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

describe('the legacy tar', () => {
  it('is read by GNU tar with short, prefixed and pax paths, mode 0644 and owner 0:0', async () => {
    const deep = `${'dir/'.repeat(40)}file.txt`;
    const long = `${'n'.repeat(180)}.txt`;
    const tar = tarOf([
      ['a.txt', 'one\n'],
      [deep, 'two\n'],
      [long, ''],
      ['ünïcode/é.txt', 'three\n'],
    ]);
    expect(tar.length % 512).toBe(0);
    const file = join(dir, 'test.tar');
    await writeFile(file, tar);
    const listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(listing.map((line) => line.split(/\s+/).slice(5).join(' '))).toEqual([
      'a.txt',
      deep,
      long,
      'ünïcode/é.txt',
    ]);
    for (const line of listing) expect(line).toMatch(/^-rw-r--r-- 0\/0 /);
    expect(execFileSync('tar', ['-xOf', file, deep], { encoding: 'utf8' })).toBe('two\n');
  });

  it('gives the same bytes for the same files', () => {
    const files: [string, string][] = [
      ['x/y.txt', 'data'],
      ['z', ''],
    ];
    expect(tarOf(files).equals(tarOf(files))).toBe(true);
  });
});

describe('the signed legacy list', () => {
  const siteKey = SigningKey.generate();
  const list = formatLegacyList({
    siteCode: 'LEG',
    clientId: 'a'.repeat(64),
    signerKeyId: siteKey.keyId,
    sequence: 7,
    issuedAt: new Date('2030-01-01T00:00:00.000Z'),
    deployments: [
      {
        deploymentId: 'LEG-dep-1',
        policyVersion: 2,
        packageId: 'LEG-pkg',
        packageVersion: '1.0',
        tarSha256: 'b'.repeat(64),
        tarSize: 10240,
        timeLimitSeconds: 600,
        successExitCodes: [0, 3010],
        rerun: 'if-failed',
        workingDirectory: '.',
        commandLine: 'sh install.sh "two  spaces"',
      },
    ],
  });

  it('has one header line per field, a line per deployment, and ends with "end"', () => {
    expect(list).toBe(
      [
        'steward-legacy-list/v1',
        'site LEG',
        `client ${'a'.repeat(64)}`,
        `signer ${siteKey.keyId}`,
        'sequence 7',
        'issued 2030-01-01T00:00:00.000Z',
        `expires-epoch ${Date.parse('2030-01-01T01:00:00.000Z') / 1000}`,
        `deployment LEG-dep-1 2 LEG-pkg 1.0 ${'b'.repeat(64)} 10240 600 0,3010 if-failed . sh install.sh "two  spaces"`,
        'end',
        '',
      ].join('\n'),
    );
  });

  it('is signed over PAE(type, list): the trust core and openssl both accept it, and refuse a changed byte', async () => {
    const answer = signLegacyList(list, siteKey);
    const signature = Buffer.from(/^signature (.+)$/m.exec(answer)?.[1] ?? '', 'base64');
    const message = pae(legacyListPayloadType, new TextEncoder().encode(list));
    expect(siteKey.verifyingKey().verify(message, signature)).toBe(true);
    await writeFile(join(dir, 'key.pem'), sitePublicKeyPem(siteKey.publicRecord()));
    await writeFile(join(dir, 'sig'), signature);
    await writeFile(join(dir, 'good'), message);
    await writeFile(join(dir, 'bad'), Buffer.from(message).fill(0x21, 60, 61));
    const verify = (file: string) =>
      execFileSync(
        'openssl',
        [
          'pkeyutl',
          '-verify',
          '-pubin',
          '-inkey',
          join(dir, 'key.pem'),
          '-rawin',
          '-in',
          join(dir, file),
        ].concat(['-sigfile', join(dir, 'sig')]),
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
    expect(verify('good')).toContain('Signature Verified Successfully');
    expect(() => verify('bad')).toThrow();
  });
});

describe('programs a legacy client cannot run faithfully', () => {
  const body = (program: Partial<PolicyBodyPayload['program']>, ids: Partial<PolicyBodyPayload> = {}) =>
    ({
      deploymentId: 'LEG-dep-1',
      package: { packageId: 'LEG-pkg', version: '1.0', manifestHash: 'c'.repeat(64) },
      program: {
        name: 'install',
        commandLine: 'sh install.sh',
        workingDirectory: '.',
        environment: {},
        timeLimitSeconds: 60,
        elevated: false,
        successExitCodes: [0],
        ...program,
      },
      ...ids,
    }) as PolicyBodyPayload;

  it('are left out of the list with a reason', () => {
    expect(unsupportedBecause(body({}))).toBeUndefined();
    expect(unsupportedBecause(body({ workingDirectory: 'bin/tools' }))).toBeUndefined();
    expect(unsupportedBecause(body({ environment: { MODE: 'quiet' } }))).toMatch(/environment/);
    expect(unsupportedBecause(body({ commandLine: 'sh a.sh\nsh b.sh' }))).toMatch(/one line/);
    expect(unsupportedBecause(body({ commandLine: ' sh a.sh' }))).toMatch(/one line/);
    expect(unsupportedBecause(body({ commandLine: 'sh\ta.sh' }))).toMatch(/one line/);
    expect(unsupportedBecause(body({ workingDirectory: 'with space' }))).toMatch(/working directory/);
  });
});

describe('legacy status lines', () => {
  const client = {
    clientId: 'd'.repeat(64),
    hostname: 'legacy-a',
    siteCode: 'LEG',
    verification: 'signature' as const,
  };
  const now = new Date('2030-01-01T00:00:00.000Z');
  const epoch = now.getTime() / 1000;

  it('become status messages with a per-client message id', () => {
    const detail = Buffer.from('ok\n').toString('base64');
    const [message] = parseLegacyStatus(
      `steward-legacy-status/v1\nstatus 1700000000-abcdef program-succeeded LEG-dep-1 2 0 ${epoch - 10} ${detail}\n`,
      client,
      now,
    );
    expect(message).toMatchObject({
      clientId: client.clientId,
      machine: 'legacy-a',
      message: {
        statusId: 10009,
        deploymentId: 'LEG-dep-1',
        policyVersion: 2,
        exitCode: 0,
        outputTail: 'ok\n',
        occurredAt: new Date((epoch - 10) * 1000).toISOString(),
      },
    });
    expect(message?.messageId).toMatch(/^legacy-[0-9a-f]{48}$/);
    const other = parseLegacyStatus(
      `steward-legacy-status/v1\nstatus 1700000000-abcdef program-succeeded LEG-dep-1 2 0 ${epoch} -\n`,
      { ...client, clientId: 'e'.repeat(64) },
      now,
    );
    expect(other[0]?.messageId).not.toBe(message?.messageId);
  });

  it('are refused when malformed', () => {
    const line = (text: string) => () =>
      parseLegacyStatus(`steward-legacy-status/v1\n${text}\n`, client, now);
    expect(line(`status 1700000000-abcdef root-rotated - - - ${epoch} -`)).toThrow(/unknown status/);
    expect(line(`status short program-failed - - - ${epoch} -`)).toThrow(/message id/);
    expect(line(`status 1700000000-abcdef program-failed - - - ${epoch} - extra`)).toThrow(/8 fields/);
    expect(line(`status 1700000000-abcdef program-failed - - - ${epoch} not_base64!`)).toThrow(/base64/);
    expect(line(`status 1700000000-abcdef program-failed LEG-dep-1 0 - ${epoch} -`)).toThrow(/version/);
    expect(() => parseLegacyStatus('steward-legacy-status/v2\n', client, now)).toThrow(/first line/);
    const many = Array.from(
      { length: 101 },
      (_, i) => `status 1700000000-${i}abcdef program-failed - - - ${epoch} -`,
    );
    expect(() => parseLegacyStatus(`steward-legacy-status/v1\n${many.join('\n')}\n`, client, now)).toThrow(
      /at most/,
    );
  });

  it('a time far from the site clock counts as received now', () => {
    const [message] = parseLegacyStatus(
      `steward-legacy-status/v1\nstatus 1700000000-abcdef program-failed - - 1 ${epoch + 86400} -\n`,
      client,
      now,
    );
    expect(message?.message.occurredAt).toBe(now.toISOString());
  });
});
