/**
 * A bounded JSON object for report and message bodies whose shape belongs to other layers. The
 * whole payload is already capped in bytes (C6); this adds a nesting limit, a key length limit and
 * refuses keys that reach an object's prototype.
 */
import { z } from 'zod';
import { forbiddenKeys } from './fields.js';

/** Deepest nesting accepted in a body. */
export const maxBodyDepth = 16;
const maxKeyLength = 256;

function isBoundedJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (depth >= maxBodyDepth || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.every((item) => isBoundedJson(item, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.entries(value).every(
    ([key, item]) => key.length <= maxKeyLength && !forbiddenKeys.has(key) && isBoundedJson(item, depth + 1),
  );
}

/** A plain JSON object, nested at most maxBodyDepth levels. */
export const jsonBody = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value) && isBoundedJson(value, 0),
  { message: `must be a JSON object nested at most ${maxBodyDepth} levels, without __proto__ keys` },
);
