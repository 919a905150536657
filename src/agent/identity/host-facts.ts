import os from 'node:os';

/** The machine's host name as a registration accepts it. */
export function hostName(): string {
  const name = os
    .hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return name === '' ? 'unnamed-host' : name.slice(0, 253);
}

/** The machine's non-internal IP addresses (at most 64). */
export function hostAddresses(): string[] {
  const addresses = new Set<string>();
  for (const entries of Object.values(os.networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (!entry.internal) addresses.add(entry.address.split('%')[0] ?? entry.address);
    }
  }
  return [...addresses].slice(0, 64);
}

/** The DNS domain of the host name, when it has one. */
export function hostDomain(): string | null {
  const full = os.hostname();
  const dot = full.indexOf('.');
  return dot > 0 ? full.slice(dot + 1) : null;
}
