import { z } from 'zod';

/** The JSON body of every 4xx and 5xx answer (docs/errors.md lists the codes). */
export const errorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z
      .string()
      .regex(/^ERR_[A-Z0-9_]+$/)
      .max(64),
    message: z.string().max(2000),
    retryable: z.boolean(),
  }),
});

export type ErrorBody = z.output<typeof errorBodySchema>;
