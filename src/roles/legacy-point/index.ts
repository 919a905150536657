/** The legacy point: legacy clients' endpoints, settings, tokens and audit facts (docs/legacy-client.md). */
export { registerLegacyPoint, legacyPointPrefix, type LegacyPointOptions } from './legacy-point.js';
export { legacyClientAuditFacts, type LegacyClientAuditFacts } from './legacy-audit.js';
export {
  readLegacySettings,
  writeLegacySettings,
  defaultLegacySettings,
  type LegacySettings,
} from './legacy-settings.js';
export { createLegacyToken, countLegacyClients } from './legacy-store.js';
export { sitePublicKeyPem } from './site-key-pem.js';
export { legacyListPayloadType } from './legacy-list.js';
