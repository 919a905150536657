/** The directory context (DESIGN.md section 4): schema, publishing, ACL check, and lookup. */
export * from './lookup/index.js';
export { directorySchema, defaultSchemaArc, adSchemaPlaceholder, type SchemaFormat, type SchemaOptions } from './schema/index.js';
