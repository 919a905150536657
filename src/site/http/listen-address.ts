import { InvalidRequestError } from '../site-errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses `HOST:PORT` (IPv6 as `[::1]:PORT`). */
export function parseListen(text: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidRequestError(`--listen must be HOST:PORT, like 127.0.0.1:8430 (got "${text}")`);
  }
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}

export function listenUrl(address: ListenAddress, scheme: 'http' | 'https' = 'http'): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${scheme}://${host}:${address.port}`;
}

/** True for addresses only this machine can reach (DESIGN.md: plain HTTP is allowed only there). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
