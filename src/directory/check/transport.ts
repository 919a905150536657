/** Whether credentials and entries cross the network protected (a finding of the ACL check). */
import { isIP } from 'node:net';
import type { DirectoryConfig } from '../lookup/directory-config.js';
import { finding, type AclFinding } from './findings.js';

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export function transportFinding(config: DirectoryConfig, url: string): AclFinding {
  const mode = config.tls?.mode ?? (config.url.startsWith('ldaps:') ? 'ldaps' : 'none');
  const host = new URL(config.url).hostname.replace(/^\[(.*)\]$/, '$1');
  if (mode !== 'none') return finding('transport', 'pass', `${url} is reached over TLS (${mode}).`, '');
  if (isLoopback(host)) {
    return finding('transport', 'pass', `${url} is on this machine (loopback); no network to protect.`, '');
  }
  return finding(
    'transport',
    'warn',
    `${url} is reached without TLS: passwords, entries and their writers can be read or altered on the way.`,
    'Use ldaps:// (--tls ldaps) or StartTLS (--tls starttls) with --ca-file naming the CA that issued the directory certificate.',
  );
}
