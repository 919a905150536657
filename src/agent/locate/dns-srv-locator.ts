import { Resolver } from 'node:dns/promises';
import type { SrvRecord } from 'node:dns';
import { serverLocatorLimits } from '../../protocol/index.js';
import { LocatorUnreachableError, NoSrvRecordsError } from './locate-errors.js';

/** The SRV service and protocol labels of a management point (DESIGN.md section 3). */
export const managementPointSrvPrefix = '_steward-mp._tcp.';

/** C6: SRV records used at most (a DNS answer is bounded anyway; this bounds the work and the list). */
export const maxSrvRecords = 64;

/** What locateByDnsSrv needs of a resolver: node:dns/promises' Resolver, or a test double. */
export interface SrvResolver {
  resolveSrv(hostname: string): Promise<SrvRecord[]>;
  cancel?(): void;
}

export interface LocateByDnsSrvOptions {
  /** Default: a node:dns/promises Resolver using `servers`, or the system's DNS servers. */
  resolver?: SrvResolver;
  /** DNS servers for the default resolver (`127.0.0.1:5353`, `[::1]:53`). */
  servers?: readonly string[];
  /** The whole look-up must end within this; default serverLocatorLimits.timeoutMs. */
  timeoutMs?: number;
  /** URL scheme; default https for port 443, http for any other port. */
  scheme?: 'http' | 'https';
  /** Random numbers in [0, 1) for the weighted order (RFC 2782); injectable for tests. */
  random?: () => number;
}

const domainPattern =
  /^(?=.{1,253}$)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;
const hostPattern =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Management point URLs from the `_steward-mp._tcp.<domain>` SRV records, in the order RFC 2782
 * prescribes: lowest priority first; within one priority, a weighted random order (weight 0 last
 * but possible). A target of "." (service explicitly absent), malformed targets and duplicates are
 * dropped. ERR_NO_SRV_RECORDS when nothing usable is left; ERR_LOCATOR_UNREACHABLE when DNS did not
 * answer in time. What the URLs lead to is verified later (C2): DNS is not trusted.
 */
export async function locateByDnsSrv(domain: string, options: LocateByDnsSrvOptions = {}): Promise<string[]> {
  const bare = domain.replace(/\.$/, '');
  if (!domainPattern.test(bare))
    throw new NoSrvRecordsError(`"${domain.slice(0, 253)}" is not a DNS domain name`);
  const name = `${managementPointSrvPrefix}${bare}`;
  const timeoutMs = options.timeoutMs ?? serverLocatorLimits.timeoutMs;
  const resolver = options.resolver ?? defaultResolver(options.servers, timeoutMs);
  const records = await resolveWithTimeout(resolver, name, timeoutMs);
  const usable = records
    .slice(0, maxSrvRecords)
    .map((record) => ({ ...record, name: record.name.toLowerCase().replace(/\.$/, '') }))
    .filter(
      (record) =>
        hostPattern.test(record.name) &&
        Number.isInteger(record.port) &&
        record.port >= 1 &&
        record.port <= 65535 &&
        Number.isInteger(record.priority) &&
        Number.isInteger(record.weight),
    );
  if (usable.length === 0) throw new NoSrvRecordsError(`${name} has no usable SRV record`);
  const urls = orderSrvRecords(usable, options.random ?? Math.random).map((record) => {
    const scheme = options.scheme ?? (record.port === 443 ? 'https' : 'http');
    return `${scheme}://${record.name}:${record.port}/`;
  });
  return [...new Set(urls)];
}

function defaultResolver(servers: readonly string[] | undefined, timeoutMs: number): SrvResolver {
  const resolver = new Resolver({ timeout: Math.max(1, Math.min(timeoutMs, 5000)), tries: 2 });
  if (servers !== undefined) resolver.setServers([...servers]);
  return resolver;
}

async function resolveWithTimeout(
  resolver: SrvResolver,
  name: string,
  timeoutMs: number,
): Promise<SrvRecord[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      resolver.cancel?.();
      reject(new LocatorUnreachableError(`no DNS answer for ${name} within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([resolver.resolveSrv(name), timeout]);
  } catch (error) {
    if (error instanceof LocatorUnreachableError) throw error;
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'NOTFOUND' || code === 'NODATA') {
      throw new NoSrvRecordsError(`${name} has no SRV records`, { cause: error });
    }
    throw new LocatorUnreachableError(
      `the DNS look-up of ${name} failed: ${typeof code === 'string' ? code : (error as Error).message}`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * RFC 2782 order: by priority ascending; within a priority, repeatedly pick a record with
 * probability proportional to its weight (zero-weight records sorted first so they keep a small
 * chance, as the RFC describes).
 */
export function orderSrvRecords<T extends { priority: number; weight: number }>(
  records: readonly T[],
  random: () => number,
): T[] {
  const priorities = [...new Set(records.map((record) => record.priority))].sort((a, b) => a - b);
  const ordered: T[] = [];
  for (const priority of priorities) {
    const left = records
      .filter((record) => record.priority === priority)
      .sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    while (left.length > 0) {
      const total = left.reduce((sum, record) => sum + Math.max(0, record.weight), 0);
      const pick = Math.floor(random() * (total + 1));
      let running = 0;
      let index = left.findIndex((record) => {
        running += Math.max(0, record.weight);
        return running >= pick;
      });
      if (index === -1) index = left.length - 1;
      ordered.push(...left.splice(index, 1));
    }
  }
  return ordered;
}
