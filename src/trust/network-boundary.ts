/**
 * IP addresses and network boundaries (IPv4 and IPv6 subnets in CIDR form, and ranges `a-b`) as
 * integer intervals, with one canonical text form. The site stores boundaries in this form, the
 * server locator point signs it into `locator-answer` documents, and the agent checks its own
 * addresses against it (C2 locating), so both sides parse with this one module.
 *
 * Addresses are accepted only in the strict forms node:net's isIP accepts (no octal, no shortened
 * IPv4). An IPv6 zone (`fe80::1%eth0`) is dropped from a client address; an IPv4-mapped IPv6
 * address (`::ffff:192.0.2.1`) is read as the IPv4 address it maps. Boundaries take neither: an
 * IPv4 boundary is written in IPv4 form.
 */
import { isIP } from 'node:net';

export type IpFamily = 4 | 6;

/** An address as an integer of 32 (IPv4) or 128 (IPv6) bits, with its canonical text. */
export type IpAddressValue = { family: IpFamily; value: bigint; text: string };

/** A boundary: the closed interval first..last of one family, and its canonical text. */
export type NetworkBoundary = {
  kind: 'subnet' | 'range';
  family: IpFamily;
  first: bigint;
  last: bigint;
  /** Canonical: `192.0.2.0/24`, `2001:db8::/32`, `192.0.2.10-192.0.2.20`. */
  text: string;
};

/** C6: longest address text read (an IPv6 address with an IPv4 tail and a zone fits). */
export const maxAddressTextLength = 64;

/** C6: longest boundary text read (two full IPv6 addresses and a dash). */
export const maxBoundaryTextLength = 100;

const bitsOf = (family: IpFamily): number => (family === 4 ? 32 : 128);
const mappedPrefix = 0xffffn << 32n;

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

/** Parses an IPv6 text that isIP already accepted (no zone). */
function ipv6Value(text: string): bigint {
  let body = text;
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4Value(tail);
    body = `${body.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = body.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups =
    rest === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** The canonical text of an address: dotted quad, or RFC 5952 for IPv6. */
export function formatIpAddress(family: IpFamily, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  }
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start += 1) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length += 1;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function strictAddress(text: string): { family: IpFamily; value: bigint } | undefined {
  if (text.length > maxAddressTextLength) return undefined;
  const family = isIP(text);
  if (family === 4) return { family, value: ipv4Value(text) };
  if (family === 6 && !text.includes('%')) return { family, value: ipv6Value(text) };
  return undefined;
}

function isMapped(value: bigint): boolean {
  return value >> 32n === 0xffffn;
}

/**
 * A client's address, or undefined when the text is not an IP address: a zone is dropped, an
 * IPv4-mapped IPv6 address becomes its IPv4 address.
 */
export function parseIpAddress(text: string): IpAddressValue | undefined {
  if (text.length > maxAddressTextLength) return undefined;
  const zone = text.indexOf('%');
  const bare = zone !== -1 && text.includes(':') ? text.slice(0, zone) : text;
  const parsed = strictAddress(bare);
  if (parsed === undefined) return undefined;
  if (parsed.family === 6 && isMapped(parsed.value)) {
    const value = parsed.value - mappedPrefix;
    return { family: 4, value, text: formatIpAddress(4, value) };
  }
  return { ...parsed, text: formatIpAddress(parsed.family, parsed.value) };
}

/** The boundary, or why the text is not one (a sentence fragment for an administrator). */
export type BoundaryReading = { boundary: NetworkBoundary } | { problem: string };

function boundaryAddress(text: string): { family: IpFamily; value: bigint } | string {
  const parsed = strictAddress(text);
  if (parsed === undefined) return `"${text.slice(0, maxAddressTextLength)}" is not an IPv4 or IPv6 address`;
  if (parsed.family === 6 && isMapped(parsed.value)) {
    return `"${text}" is an IPv4-mapped IPv6 address; write IPv4 boundaries in IPv4 form`;
  }
  return parsed;
}

/**
 * Reads a boundary: a subnet `address/prefix` (no host bits set) or a range `first-last` of one
 * family with first <= last. Surrounding white space is ignored; the result's text is canonical.
 */
export function readNetworkBoundary(input: string): BoundaryReading {
  if (input.length > maxBoundaryTextLength) {
    return { problem: `is longer than ${maxBoundaryTextLength} characters` };
  }
  const text = input.trim();
  if (text.includes('/')) return readSubnet(text);
  if (text.includes('-')) return readRange(text);
  return {
    problem:
      'is neither a subnet (like 192.0.2.0/24 or 2001:db8::/32) nor a range (like 192.0.2.10-192.0.2.20)',
  };
}

function readSubnet(text: string): BoundaryReading {
  const [addressText = '', prefixText = '', extra] = text.split('/');
  if (extra !== undefined) return { problem: 'has more than one "/"' };
  const address = boundaryAddress(addressText);
  if (typeof address === 'string') return { problem: address };
  const bits = bitsOf(address.family);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
    return { problem: `has prefix length "${prefixText.slice(0, 8)}"; it must be 0 to ${bits}` };
  }
  const prefix = Number(prefixText);
  const hostBits = BigInt(bits - prefix);
  const hostMask = (1n << hostBits) - 1n;
  const first = address.value & ~hostMask;
  const network = `${formatIpAddress(address.family, first)}/${prefix}`;
  if ((address.value & hostMask) !== 0n) {
    return { problem: `has host bits set after the /${prefix} prefix; the subnet is ${network}` };
  }
  return {
    boundary: { kind: 'subnet', family: address.family, first, last: first | hostMask, text: network },
  };
}

function readRange(text: string): BoundaryReading {
  const [firstText = '', lastText = '', extra] = text.split('-');
  if (extra !== undefined) return { problem: 'a range has exactly one "-" between two addresses' };
  const first = boundaryAddress(firstText.trim());
  if (typeof first === 'string') return { problem: first };
  const last = boundaryAddress(lastText.trim());
  if (typeof last === 'string') return { problem: last };
  if (first.family !== last.family) return { problem: 'mixes an IPv4 and an IPv6 address' };
  if (first.value > last.value) return { problem: 'starts after it ends' };
  const canonical = `${formatIpAddress(first.family, first.value)}-${formatIpAddress(last.family, last.value)}`;
  return {
    boundary: { kind: 'range', family: first.family, first: first.value, last: last.value, text: canonical },
  };
}

/** True when the text is a boundary written exactly in canonical form. */
export function isCanonicalBoundary(text: string): boolean {
  const reading = readNetworkBoundary(text);
  return 'boundary' in reading && reading.boundary.text === text;
}

/** True when the address lies inside the boundary (same family, first <= address <= last). */
export function boundaryContains(boundary: NetworkBoundary, address: IpAddressValue): boolean {
  return (
    boundary.family === address.family && boundary.first <= address.value && address.value <= boundary.last
  );
}

/** True when two boundaries share at least one address. */
export function boundariesOverlap(a: NetworkBoundary, b: NetworkBoundary): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** How many addresses the boundary holds (the measure of "most specific": fewer is more specific). */
export function boundarySize(boundary: NetworkBoundary): bigint {
  return boundary.last - boundary.first + 1n;
}
