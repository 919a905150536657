import type { JoinAnswer } from './join/join-service.js';

/**
 * What the admin API asks of the hierarchy that needs the site's keys (the root keys at the central
 * site): the manual key exchange (docs/hierarchy.md, "Key exchange without a network path").
 */
export interface HierarchyAdmin {
  /** A child's key request, its fingerprint confirmed out of band: joined as if by token. */
  importKeyRequest(file: string, fingerprint: string, now: Date): Promise<JoinAnswer>;
  /** The answer file of a certified join, for the child's administrator. */
  exportKeyAnswer(joinId: string, now: Date): Promise<string>;
}
