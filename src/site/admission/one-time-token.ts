/**
 * One-time tokens that admit a new party with a proof instead of the secret (join tokens for child
 * sites, site system tokens for management points and distribution points). The token text is a
 * prefix and base64url JSON carrying what the newcomer needs to check the issuer before it trusts
 * anything it answers, plus a secret; the issuer keeps only the secret's hash, which is the key of
 * the proof, so the secret never travels again.
 */
import type { z } from 'zod';

/** The errors of one kind of token (unknown, forged or for another use; used; expired). */
export interface TokenErrors {
  invalid(message: string, options?: { cause: unknown }): Error;
  used(message: string): Error;
  expired(message: string): Error;
}

export interface TokenKind<T> {
  /** e.g. `stj1.` */
  prefix: string;
  /** How people call it: "join token", "site system token". */
  name: string;
  /** The command that prints one, for the error message. */
  issuedBy: string;
  schema: z.ZodType<T>;
  errors: TokenErrors;
}

export function encodeToken<T>(kind: TokenKind<T>, token: T): string {
  return `${kind.prefix}${Buffer.from(JSON.stringify(token), 'utf8').toString('base64url')}`;
}

/** Reads a token's text (C6: bounded before decoding); the kind's `invalid` error otherwise. */
export function decodeToken<T>(kind: TokenKind<T>, text: string): T {
  const trimmed = text.trim();
  if (!trimmed.startsWith(kind.prefix) || trimmed.length > 4096) {
    throw kind.errors.invalid(
      `a ${kind.name} starts with ${kind.prefix} (use the text ${kind.issuedBy} printed)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(trimmed.slice(kind.prefix.length), 'base64url').toString('utf8'));
  } catch (cause) {
    throw kind.errors.invalid(`the ${kind.name} is damaged (not base64url JSON)`, { cause });
  }
  const parsed = kind.schema.safeParse(json);
  if (!parsed.success) throw kind.errors.invalid(`the ${kind.name} is damaged or of another version`);
  return parsed.data;
}

/** What the issuer stored of a token. */
export interface StoredToken {
  secret_hash: string;
  used_at: Date | string | null;
  used_by: string | null;
  expires_at: Date | string;
}

/**
 * The checks of a presented token, in this order: the proof first, so a forger learns nothing
 * about the token (invalid); then used; then expired. The caller checks what the token is for
 * and marks it used in the same transaction.
 */
export function checkStoredToken<T>(
  kind: TokenKind<T>,
  row: StoredToken | undefined,
  input: { now: Date; act: string },
  checkProof: (proofKey: string) => void,
): asserts row is StoredToken {
  if (row === undefined) throw kind.errors.invalid(`no such ${kind.name} was issued here`);
  try {
    checkProof(row.secret_hash);
  } catch (cause) {
    throw kind.errors.invalid(
      `the ${input.act} proof does not verify: the token is forged or altered, or the request was changed on the way`,
      { cause },
    );
  }
  if (row.used_at !== null) {
    throw kind.errors.used(`this ${kind.name} was used already (by ${row.used_by ?? '?'}); issue a new one`);
  }
  if (new Date(row.expires_at).getTime() <= input.now.getTime()) {
    throw kind.errors.expired(
      `this ${kind.name} expired at ${new Date(row.expires_at).toISOString()}; issue a new one`,
    );
  }
}
