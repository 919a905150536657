/**
 * Runs a zod schema and turns its issues into one administrator-readable sentence. Issue paths and
 * messages are reported, never the offending values (they may be large or sensitive).
 */
import type { z } from 'zod';

const maxIssuesShown = 5;

/** One line per issue: `path: message`, at most five issues. */
export function describeIssues(error: z.ZodError): string {
  const lines = error.issues.slice(0, maxIssuesShown).map((issue) => {
    const path = issue.path.length === 0 ? '(document)' : issue.path.map(String).join('.');
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length - lines.length;
  return lines.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/** Parses with a schema or throws the error `fail` builds from the issue description. */
export function parseWith<T extends z.ZodType>(
  schema: T,
  value: unknown,
  fail: (description: string) => Error,
): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw fail(describeIssues(result.error));
  return result.data;
}
