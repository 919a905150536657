import { z } from 'zod';
import { parseIpAddress } from '../trust/index.js';
import { protocolLimits } from './limits.js';

/**
 * The server locator point's request and answer (docs/spec/server-locator-point.md). The answer
 * carries three encoded envelopes: the site-signed `locator-answer`, the site's certificate and the
 * root chain, so an agent holding a root verifies the certificate, then the answer (C2 locating).
 */
export const serverLocatorLimits = {
  /** Largest locate request read: 64 addresses of at most 64 characters fit with room to spare. */
  maxRequestBytes: 8 * 1024,
  /** Largest locate answer an agent reads. */
  maxResponseBytes: protocolLimits.maxResponseBytes,
  /** How long an agent waits for a locator (HTTP or DNS) before giving up. */
  timeoutMs: 15_000,
} as const;

const envelopeText = z.string().min(2).max(protocolLimits.maxEnvelopeBytes);

/** An IP address as a client reports it: IPv4, IPv6, IPv6 with a zone, or IPv4-mapped IPv6. */
export const clientAddressSchema = z
  .string()
  .max(64)
  .refine((text) => parseIpAddress(text) !== undefined, 'must be an IP address');

/** POST /slp/v1/locate request. */
export const locateRequestSchema = z.strictObject({
  addresses: z.array(clientAddressSchema).min(1).max(protocolLimits.maxAddresses),
});

/** POST /slp/v1/locate answer. */
export const locateAnswerSchema = z.strictObject({
  /** The `locator-answer` envelope, signed by the key of the site it names. */
  answer: envelopeText,
  /** That site's current `site-certificate`, signed by the root. */
  siteCertificate: envelopeText,
  /** The root chain, version 1 first (C1 rotations). */
  rootChain: z.array(envelopeText).min(1).max(64),
});

export type LocateRequest = z.output<typeof locateRequestSchema>;
export type LocateAnswer = z.output<typeof locateAnswerSchema>;
