/**
 * Field schemas shared by the signed document kinds. Every string has a maximum length and every
 * array a maximum size (C6); times are ISO-8601 UTC with milliseconds, exactly as toISOString()
 * writes them.
 */
import { z } from 'zod';
import { controlCharacters } from './content-path.js';

/** ISO-8601 UTC time, `2026-01-01T00:00:00.000Z`. */
export const isoTime = z
  .string()
  .max(24)
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
    'must be an ISO-8601 UTC time like 2026-01-01T00:00:00.000Z',
  )
  .refine((text) => {
    const time = Date.parse(text);
    return Number.isFinite(time) && new Date(time).toISOString() === text;
  }, 'must be a real calendar time');

/** A document version, serial or sequence: a positive safe integer. */
export const positiveInteger = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** A byte count: a non-negative safe integer. */
export const byteCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A lowercase hex SHA-256. */
export const sha256Field = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256');

/** A site code: three upper-case letters or digits. */
export const siteCode = z.string().regex(/^[A-Z0-9]{3}$/, 'must be three upper-case letters or digits');

/** Free text for people (names): 1..max characters, no control characters. */
export function displayText(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .refine((text) => !controlCharacters.test(text), 'must not contain control characters');
}

/** An identifier: letters, digits and `._:-`, starting with a letter or digit. */
export function identifier(max = 128) {
  return z
    .string()
    .max(max)
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
      'must be letters, digits and . _ : - starting with a letter or digit',
    );
}

/** An absolute http(s) URL without credentials. */
export const httpUrl = z
  .string()
  .max(2048)
  .refine((text) => {
    if (!URL.canParse(text)) return false;
    const url = new URL(text);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.hostname !== '' &&
      url.username === '' &&
      url.password === ''
    );
  }, 'must be an http or https URL without credentials');

/** Keys that would reach an object's prototype when copied; refused in every JSON object. */
export const forbiddenKeys: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Adds an issue when the array holds the same value (by `keyOf`) twice. */
export function uniqueBy<T>(keyOf: (item: T) => string, what: string) {
  return (items: readonly T[], context: z.core.$RefinementCtx<readonly T[]>) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const key = keyOf(item);
      if (seen.has(key)) context.addIssue({ code: 'custom', path: [index], message: `duplicate ${what}` });
      seen.add(key);
    });
  };
}

/** Adds an issue when expiresAt is not after issuedAt. */
export function validityOrder(
  document: { issuedAt: string; expiresAt: string },
  context: z.core.$RefinementCtx<{ issuedAt: string; expiresAt: string }>,
): void {
  if (Date.parse(document.expiresAt) <= Date.parse(document.issuedAt)) {
    context.addIssue({ code: 'custom', path: ['expiresAt'], message: 'must be after issuedAt' });
  }
}
