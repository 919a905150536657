/**
 * The security and fault tests' sites: site-process.ts's `createSiteProcess` with the server's log
 * quiet (the attacks they make would fill the output with expected refusals).
 */
import { createSiteProcess, type SiteProcess, type SiteProcessOptions } from './site-process.js';

export type { SiteProcessOptions } from './site-process.js';
export type KillableSiteProcess = SiteProcess;

export function createSiteProcessWith(code: string, options: SiteProcessOptions = {}): Promise<SiteProcess> {
  return createSiteProcess(code, { ...options, env: { STEWARD_SITE_LOG_LEVEL: 'fatal', ...options.env } });
}
