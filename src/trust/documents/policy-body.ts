/**
 * `policy-body`: one deployment's instructions (package and manifest hash, program, schedule, rerun
 * rule), signed by the key of the site that owns the deployment (C4).
 */
import { z } from 'zod';
import { contentPathProblem } from './content-path.js';
import {
  displayText,
  forbiddenKeys,
  httpUrl,
  identifier,
  isoTime,
  positiveInteger,
  sha256Field,
  siteCode,
  validityOrder,
} from './fields.js';

export const maxEnvironmentVariables = 64;
/** Longest program time limit: seven days. */
export const maxTimeLimitSeconds = 7 * 24 * 3600;

const workingDirectory = z
  .string()
  .refine((path) => path === '.' || contentPathProblem(path) === undefined, {
    message: 'must be "." or a relative path inside the package folder',
  })
  .default('.');

const variableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name')
  .refine((name) => !forbiddenKeys.has(name), 'must not be __proto__, constructor or prototype');

/** zod drops a `__proto__` key from records silently; refuse it instead, so no signed key is lost. */
const withoutPrototypeKeys = z.custom<Record<string, string>>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).every((name) => !forbiddenKeys.has(name)),
  { message: 'must be an object without __proto__, constructor or prototype keys' },
);

const environment = withoutPrototypeKeys.pipe(
  z
    .record(variableName, z.string().max(4096))
    .refine((variables) => Object.keys(variables).length <= maxEnvironmentVariables, {
      message: `must hold at most ${maxEnvironmentVariables} variables`,
    }),
);

const exitCode = z
  .number()
  .int()
  .min(-(2 ** 31))
  .max(2 ** 32 - 1);

export const policyBodySchema = z
  .strictObject({
    kind: z.literal('policy-body'),
    version: positiveInteger,
    policyId: identifier(),
    siteCode,
    deploymentId: identifier(),
    package: z.strictObject({
      packageId: identifier(),
      version: identifier(64),
      /** SHA-256 of the content-manifest payload bytes (C5). */
      manifestHash: sha256Field,
    }),
    program: z.strictObject({
      name: displayText(128),
      commandLine: displayText(8192),
      workingDirectory,
      environment,
      timeLimitSeconds: z.number().int().min(1).max(maxTimeLimitSeconds),
      elevated: z.boolean(),
      successExitCodes: z.array(exitCode).min(1).max(32),
    }),
    schedule: z.strictObject({
      availableAt: isoTime,
      mandatoryAt: isoTime.nullable(),
      expiresAt: isoTime.nullable(),
    }),
    rerun: z.enum(['never', 'always', 'if-failed', 'if-succeeded']),
    contentUrls: z.array(httpUrl).max(16),
    issuedAt: isoTime,
    expiresAt: isoTime,
  })
  .superRefine(validityOrder);

export type PolicyBodyPayload = z.output<typeof policyBodySchema>;
