/**
 * What a certificate may name (validated before anything is issued): common names, DNS names and
 * IP addresses, validity periods. Invalid input is ERR_PAYLOAD_INVALID, like any other value handed
 * to the trust core.
 */
import { isIP } from 'node:net';
import { PayloadInvalidError } from '../trust-errors.js';

/** Names in one certificate's subjectAltName (C6). */
export const maxSubjectAltNames = 64;

const commonNameShape = /^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,63}$/;
const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const dnsNameShape = new RegExp(`^(?:\\*\\.)?${label}(?:\\.${label})*$`);

/** A subject common name: 1..64 letters, digits, space and `._:-`, starting with a letter or digit. */
export function checkCommonName(name: string): string {
  if (!commonNameShape.test(name)) {
    throw new PayloadInvalidError(
      'A certificate common name must be 1 to 64 letters, digits, spaces and . _ : - starting with a letter or digit.',
    );
  }
  return name;
}

/** DNS names, lower-cased; a leading `*.` (one wildcard label) is allowed. */
export function checkDnsNames(names: readonly string[]): string[] {
  return names.map((name) => {
    const lower = name.toLowerCase();
    if (lower.length > 253 || !dnsNameShape.test(lower)) {
      throw new PayloadInvalidError(`"${name.slice(0, 64)}" is not a DNS name a certificate can carry.`);
    }
    return lower;
  });
}

/** IPv4 or IPv6 addresses in text form. */
export function checkIpAddresses(addresses: readonly string[]): string[] {
  return addresses.map((address) => {
    if (isIP(address) === 0) {
      throw new PayloadInvalidError(`"${address.slice(0, 64)}" is not an IPv4 or IPv6 address.`);
    }
    return address;
  });
}

/**
 * A validity period in whole seconds: `days` may be fractional (a short-lived test certificate),
 * but at least one minute and at most `maxDays`.
 */
export function validitySeconds(days: number, maxDays: number, what: string): number {
  const seconds = Math.round(days * 86_400);
  if (!Number.isFinite(days) || seconds < 60 || days > maxDays) {
    throw new PayloadInvalidError(
      `The validity of a ${what} must be at least one minute and at most ${maxDays} days.`,
    );
  }
  return seconds;
}
