import type { SecurityMode } from '../../site/security-mode/security-mode.js';
import type { Kysely } from 'kysely';
import type { SiteDatabase } from '../../site/database/schema.js';
import type { SigningKey } from '../../trust/index.js';
import type { DirectorySignIn } from '../identity/index.js';
import type { JobRegistry } from './jobs.js';
import type { HierarchyAdmin } from '../../site/hierarchy/hierarchy-admin.js';
import type { SecurityAuditSource } from '../../audit/index.js';

/**
 * What the admin API needs from the site server. The site server builds it; the admin API never
 * reaches into the server's internals beyond this.
 */
export interface AdminContext {
  readonly db: Kysely<SiteDatabase>;
  readonly siteCode: string;
  readonly siteName: string;
  readonly siteType: 'central' | 'primary' | 'secondary';
  readonly url: string;
  readonly version: string;
  readonly siteKey: SigningKey;
  readonly contentLibraryDir: string;
  readonly approval: 'manual' | 'token' | 'automatic' | 'directory';
  /** The mode the site runs in (docs/audit.md, "Security modes"); absent: advanced. */
  readonly securityMode?: SecurityMode;
  now(): Date;
  /** Clients whose policy must be rebuilt (membership, approval, deployments changed). */
  policyChanged(clientIds: Iterable<string> | 'all'): void;
  /** A collection's membership changed by direct edits. */
  membershipChanged(collectionIds: readonly string[], clientIds: ReadonlySet<string>): Promise<void>;
  /** Re-evaluates one rule collection now. */
  evaluateCollection(collectionId: string): Promise<void>;
  /** The distribution point URLs that new policy bodies name. */
  contentUrls(): Promise<string[]>;
  /** Boundaries changed: the server locator point reads them again (absent when none runs here). */
  boundariesChanged?(): void;
  /** A client was revoked: its TLS client certificates are revoked too (absent without TLS). */
  clientRevoked?(clientId: string): Promise<void>;
  readonly jobs: JobRegistry;
  /** Admin sign-in by directory bind, when the site has a directory (docs/directory.md). */
  readonly directorySignIn?: DirectorySignIn;
  /** The site hierarchy's administrator actions that need the site's keys (docs/hierarchy.md). */
  readonly hierarchy?: HierarchyAdmin;
  /** What the security audit reads beyond the database (docs/audit.md); absent: no audit here. */
  readonly securityAudit?: SecurityAuditSource;
}
