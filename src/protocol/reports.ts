import { z } from 'zod';
import { protocolLimits } from './limits.js';

/**
 * The bodies of `client-report` documents, one schema per report type (docs/spec/management-point.md).
 * The envelope and its signature are checked first (S2); these schemas then bound every field (C6).
 */
const text = (max: number) => z.string().max(max);
const isoTime = z.iso.datetime();

export const heartbeatBodySchema = z.strictObject({
  hostname: text(255).min(1),
  domain: text(255).nullable(),
  addresses: z.array(text(64)).max(protocolLimits.maxAddresses),
  agentVersion: text(64),
  platform: text(64),
  uptimeSeconds: z.number().int().min(0),
});

const factValue = z.union([text(1024), z.number()]);
const softwareItem = z.strictObject({
  name: text(255).min(1),
  version: text(255),
  arch: text(64),
  source: text(64),
});
const softwareKey = z.strictObject({ name: text(255).min(1), arch: text(64) });
const factName = text(128).regex(/^[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)+$/);

/** Inventory: a full snapshot, or a delta against the snapshot whose hash is `baseHash`. */
export const inventoryBodySchema = z.strictObject({
  full: z.boolean(),
  baseHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  facts: z.strictObject({
    set: z
      .record(factName, factValue)
      .refine((facts) => Object.keys(facts).length <= protocolLimits.maxInventoryFacts, 'too many facts'),
    removed: z.array(factName).max(protocolLimits.maxInventoryFacts),
  }),
  software: z.strictObject({
    set: z.array(softwareItem).max(protocolLimits.maxInventorySoftware),
    removed: z.array(softwareKey).max(protocolLimits.maxInventorySoftware),
  }),
});

export const statusMessageSchema = z.strictObject({
  statusId: z.number().int().min(1).max(99999),
  deploymentId: text(128).nullable(),
  policyVersion: z.number().int().min(1).nullable(),
  occurredAt: isoTime,
  insertionStrings: z.array(text(1024)).max(10),
  exitCode: z.number().int().nullable(),
  outputTail: text(protocolLimits.maxOutputTailBytes * 2).nullable(),
});

export const statusBodySchema = z.strictObject({
  messages: z.array(statusMessageSchema).min(1).max(protocolLimits.maxStatusMessagesPerReport),
});

export type HeartbeatBody = z.output<typeof heartbeatBodySchema>;
export type InventoryBody = z.output<typeof inventoryBodySchema>;
export type StatusMessage = z.output<typeof statusMessageSchema>;
export type StatusBody = z.output<typeof statusBodySchema>;

export const reportBodySchemas = {
  heartbeat: heartbeatBodySchema,
  inventory: inventoryBodySchema,
  status: statusBodySchema,
} as const;
