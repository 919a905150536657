/** The ACL check's findings (steward directory check). */
export type AclResult = 'pass' | 'warn' | 'fail';

export interface AclFinding {
  check: string;
  result: AclResult;
  /** What was tried and what the directory answered. */
  evidence: string;
  /** What to change; empty when the check passed. */
  fix: string;
}

export function finding(check: string, result: AclResult, evidence: string, fix: string): AclFinding {
  return { check, result, evidence, fix: result === 'pass' ? '' : fix };
}

/** A temporary entry the check creates as the site system and deletes at the end. */
export interface Probe {
  cn: string;
  dn: string;
  attributes: Record<string, string[]>;
}

export function probeAttributes(probe: Probe, cn = probe.cn): Record<string, string[]> {
  return { cn: [cn], ...probe.attributes };
}
