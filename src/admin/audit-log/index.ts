/** The append-only, hash-chained audit log of administrative changes (DESIGN.md section 7). */
export { appendAudit, auditLockKey } from './append.js';
export { verifyAuditChain, assertAuditChain, type AuditChainVerdict } from './verify.js';
export { listAudit } from './list.js';
export {
  auditEntryHash,
  genesisHash,
  maxAuditDetailsLength,
  type AuditEntry,
  type AuditRecord,
} from './audit-entry.js';
export { canonicalJson, type JsonValue } from './canonical-json.js';
export { AuditChainBrokenError } from './audit-errors.js';
