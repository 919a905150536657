/**
 * locateByDnsSrv: `_steward-mp._tcp.<domain>` SRV records to management point URLs, ordered by
 * priority and weight (RFC 2782). With an injected resolver for every rule, and once end to end
 * against a tiny DNS server on 127.0.0.1 (node:dgram) through node:dns/promises' Resolver.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { SrvRecord } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateByDnsSrv, orderSrvRecords, type SrvResolver } from '../../src/agent/locate/index.js';

function resolverOf(records: SrvRecord[] | Error, seen: string[] = []): SrvResolver {
  return {
    resolveSrv: (name) => {
      seen.push(name);
      return records instanceof Error ? Promise.reject(records) : Promise.resolve(records);
    },
  };
}

function dnsError(code: string): Error {
  return Object.assign(new Error(`query failed: ${code}`), { code });
}

async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return 'accepted';
}

/** A sequence of "random" numbers, repeated. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('locateByDnsSrv with an injected resolver', () => {
  it('queries _steward-mp._tcp.<domain> and orders by priority, then weight; port 443 is https', async () => {
    const seen: string[] = [];
    const urls = await locateByDnsSrv('corp.example.test.', {
      resolver: resolverOf(
        [
          { name: 'backup.corp.example.test', port: 8430, priority: 20, weight: 0 },
          { name: 'MP2.corp.example.test.', port: 443, priority: 10, weight: 10 },
          { name: 'mp1.corp.example.test', port: 8430, priority: 10, weight: 90 },
        ],
        seen,
      ),
      random: sequence(0.5),
    });
    expect(seen).toEqual(['_steward-mp._tcp.corp.example.test']);
    expect(urls).toEqual([
      'http://mp1.corp.example.test:8430/',
      'https://mp2.corp.example.test:443/',
      'http://backup.corp.example.test:8430/',
    ]);
    const forced = await locateByDnsSrv('corp.example.test', {
      resolver: resolverOf([{ name: 'mp1.corp.example.test', port: 8430, priority: 0, weight: 0 }]),
      scheme: 'https',
    });
    expect(forced).toEqual(['https://mp1.corp.example.test:8430/']);
  });

  it('RFC 2782 weights: a heavier record comes first proportionally more often', () => {
    const records = [
      { name: 'light', priority: 1, weight: 10 },
      { name: 'heavy', priority: 1, weight: 90 },
      { name: 'zero', priority: 1, weight: 0 },
      { name: 'later', priority: 2, weight: 100 },
    ];
    let heavyFirst = 0;
    let state = 7;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
    for (let run = 0; run < 2000; run += 1) {
      const ordered = orderSrvRecords(records, random).map((r) => r.name);
      expect(ordered[3]).toBe('later');
      expect(new Set(ordered).size).toBe(4);
      if (ordered[0] === 'heavy') heavyFirst += 1;
    }
    expect(heavyFirst / 2000).toBeGreaterThan(0.8);
    expect(heavyFirst / 2000).toBeLessThan(0.95);
  });

  it('drops "." (service absent), malformed targets and ports, and duplicates; nothing usable is ERR_NO_SRV_RECORDS', async () => {
    const urls = await locateByDnsSrv('corp.example.test', {
      resolver: resolverOf([
        { name: '.', port: 8430, priority: 0, weight: 0 },
        { name: 'bad host.example.test', port: 8430, priority: 0, weight: 0 },
        { name: 'mp1.example.test', port: 0, priority: 0, weight: 0 },
        { name: 'mp1.example.test', port: 70000, priority: 0, weight: 0 },
        { name: 'mp1.example.test', port: 8430, priority: 1, weight: 0 },
        { name: 'MP1.example.test', port: 8430, priority: 2, weight: 0 },
      ]),
    });
    expect(urls).toEqual(['http://mp1.example.test:8430/']);
    expect(
      await codeOf(
        locateByDnsSrv('corp.example.test', {
          resolver: resolverOf([{ name: '', port: 1, priority: 0, weight: 0 }]),
        }),
      ),
    ).toBe('ERR_NO_SRV_RECORDS');
    expect(await codeOf(locateByDnsSrv('corp.example.test', { resolver: resolverOf([]) }))).toBe(
      'ERR_NO_SRV_RECORDS',
    );
  });

  it('maps DNS failures: no such name or no records is ERR_NO_SRV_RECORDS, anything else ERR_LOCATOR_UNREACHABLE', async () => {
    for (const code of ['ENOTFOUND', 'ENODATA']) {
      expect(
        await codeOf(locateByDnsSrv('corp.example.test', { resolver: resolverOf(dnsError(code)) })),
      ).toBe('ERR_NO_SRV_RECORDS');
    }
    for (const code of ['ETIMEOUT', 'ECONNREFUSED', 'ESERVFAIL']) {
      expect(
        await codeOf(locateByDnsSrv('corp.example.test', { resolver: resolverOf(dnsError(code)) })),
      ).toBe('ERR_LOCATOR_UNREACHABLE');
    }
    expect(await codeOf(locateByDnsSrv('not a domain!', { resolver: resolverOf([]) }))).toBe(
      'ERR_NO_SRV_RECORDS',
    );
    expect(await codeOf(locateByDnsSrv(`${'a'.repeat(64)}.test`, { resolver: resolverOf([]) }))).toBe(
      'ERR_NO_SRV_RECORDS',
    );
  });

  it('C6: gives up after the timeout and cancels the resolver; at most 64 records are used', async () => {
    let cancelled = false;
    const hanging: SrvResolver = {
      resolveSrv: () => new Promise<SrvRecord[]>(() => undefined),
      cancel: () => {
        cancelled = true;
      },
    };
    expect(await codeOf(locateByDnsSrv('corp.example.test', { resolver: hanging, timeoutMs: 100 }))).toBe(
      'ERR_LOCATOR_UNREACHABLE',
    );
    expect(cancelled).toBe(true);
    const many = Array.from({ length: 500 }, (_, i) => ({
      name: `mp${i}.example.test`,
      port: 80,
      priority: i,
      weight: 0,
    }));
    const urls = await locateByDnsSrv('corp.example.test', { resolver: resolverOf(many) });
    expect(urls).toHaveLength(64);
    expect(urls[0]).toBe('http://mp0.example.test:80/');
  });
});

// ---------------------------------------------------------------------------------------------
// A tiny DNS server: answers SRV queries for the names it knows, NXDOMAIN for the rest.

type Zone = Record<string, { priority: number; weight: number; port: number; target: string }[]>;

function encodeName(name: string): Buffer {
  const labels = name.split('.').filter((label) => label !== '');
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])),
    Buffer.from([0]),
  ]);
}

/** The question's end offset and its name, from a query (header, then one question). */
function readQuestion(query: Buffer): { name: string; end: number; type: number } {
  let offset = 12;
  const labels: string[] = [];
  for (;;) {
    const length = query[offset]!;
    offset += 1;
    if (length === 0) break;
    labels.push(query.subarray(offset, offset + length).toString('ascii'));
    offset += length;
  }
  return { name: labels.join('.').toLowerCase(), type: query.readUInt16BE(offset), end: offset + 4 };
}

function answer(query: Buffer, zone: Zone): Buffer {
  const question = readQuestion(query);
  const records = question.type === 33 ? zone[question.name] : undefined;
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // id
  const rd = query[2]! & 0x01;
  header[2] = 0x80 | 0x04 | rd; // QR, AA, RD copied
  header[3] = 0x80 | (zone[question.name] === undefined ? 3 : 0); // RA; NXDOMAIN for unknown names
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records?.length ?? 0, 6);
  const answers = (records ?? []).map((record) => {
    const target = encodeName(record.target);
    const fixed = Buffer.alloc(12 + 6);
    fixed.writeUInt16BE(0xc00c, 0); // the question's name
    fixed.writeUInt16BE(33, 2); // SRV
    fixed.writeUInt16BE(1, 4); // IN
    fixed.writeUInt32BE(60, 6); // TTL
    fixed.writeUInt16BE(6 + target.length, 10);
    fixed.writeUInt16BE(record.priority, 12);
    fixed.writeUInt16BE(record.weight, 14);
    fixed.writeUInt16BE(record.port, 16);
    return Buffer.concat([fixed, target]);
  });
  return Buffer.concat([header, query.subarray(12, question.end), ...answers]);
}

async function startDnsServer(
  zone: Zone,
  silent = false,
): Promise<{ socket: Socket; server: string; queries: string[] }> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (message, remote) => {
    try {
      queries.push(readQuestion(message).name);
      if (!silent) socket.send(answer(message, zone), remote.port, remote.address);
    } catch {
      // A malformed query gets no answer.
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, server: `127.0.0.1:${socket.address().port}`, queries };
}

describe('locateByDnsSrv against a DNS server on 127.0.0.1', () => {
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let silent: Awaited<ReturnType<typeof startDnsServer>>;

  beforeAll(async () => {
    dns = await startDnsServer({
      '_steward-mp._tcp.corp.example.test': [
        { priority: 20, weight: 0, port: 8430, target: 'backup.corp.example.test' },
        { priority: 10, weight: 5, port: 443, target: 'mp1.corp.example.test' },
      ],
      '_steward-mp._tcp.empty.example.test': [],
    });
    silent = await startDnsServer({}, true);
  });

  afterAll(() => {
    dns.socket.close();
    silent.socket.close();
  });

  it('resolves the SRV records through node:dns/promises and orders them', async () => {
    const urls = await locateByDnsSrv('corp.example.test', { servers: [dns.server], timeoutMs: 5000 });
    expect(urls).toEqual(['https://mp1.corp.example.test:443/', 'http://backup.corp.example.test:8430/']);
    expect(dns.queries).toContain('_steward-mp._tcp.corp.example.test');
  });

  it('NXDOMAIN and an empty answer are ERR_NO_SRV_RECORDS; a server that never answers is ERR_LOCATOR_UNREACHABLE', async () => {
    expect(
      await codeOf(locateByDnsSrv('nowhere.example.test', { servers: [dns.server], timeoutMs: 5000 })),
    ).toBe('ERR_NO_SRV_RECORDS');
    expect(
      await codeOf(locateByDnsSrv('empty.example.test', { servers: [dns.server], timeoutMs: 5000 })),
    ).toBe('ERR_NO_SRV_RECORDS');
    const started = Date.now();
    expect(
      await codeOf(locateByDnsSrv('corp.example.test', { servers: [silent.server], timeoutMs: 300 })),
    ).toBe('ERR_LOCATOR_UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
