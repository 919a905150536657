import type { SiteConfig } from '../site/data-folder/site-config.js';
import type { SiteDb } from '../site/database/site-db.js';

/**
 * One Security Planning best practice as a check (DESIGN.md section 7; docs/audit.md): an id, the
 * practice it enforces, and a function that looks at the site and answers pass, warn or fail with
 * the evidence and what to change.
 */
export type AuditResult = 'pass' | 'warn' | 'fail';

export interface AuditFinding {
  result: AuditResult;
  /** What was looked at and what was found. Never a secret. */
  evidence: string;
  /** What to change; empty when the check passed. */
  fix: string;
}

export interface SecurityCheck {
  /** Stable, kebab-case; scripts match on it. */
  id: string;
  /** The best practice the check enforces, in one sentence. */
  practice: string;
  run(context: AuditContext): Promise<AuditFinding> | AuditFinding;
}

/** How the site server's listener serves (src/site/server/transport.ts). */
export interface AuditTransport {
  scheme: 'http' | 'https';
  /** Plain HTTP on an address other machines reach (--insecure-http). */
  insecure: boolean;
}

/** What the checks look at: the site's database, its data folder and how it runs. */
export interface AuditContext {
  db: SiteDb;
  /** The configuration the site server runs with (site.json when it started). */
  config: SiteConfig;
  /** site.json as it is now (undefined when it cannot be read): a change waits for a restart. */
  configOnDisk: SiteConfig | undefined;
  dataDir: string;
  /** The URL agents use to reach the site. */
  url: string;
  transport: AuditTransport;
  /** Fixed once for the whole audit (CONVENTIONS.md: fix "now" once per operation). */
  now: Date;
}

export function pass(evidence: string): AuditFinding {
  return { result: 'pass', evidence, fix: '' };
}

export function warn(evidence: string, fix: string): AuditFinding {
  return { result: 'warn', evidence, fix };
}

export function fail(evidence: string, fix: string): AuditFinding {
  return { result: 'fail', evidence, fix };
}

/** "1 client", "3 clients". */
export function plural(count: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : pluralNoun}`;
}
