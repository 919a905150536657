import type { Kysely } from 'kysely';
import type { SiteDatabase } from '../../database/schema.js';
import { compileRule, type CompileOptions } from './compiler.js';
import { parseRule } from './parser.js';

/**
 * The ids of the clients a rule matches, sorted: parses the rule (a `RuleSyntaxError` if it is not
 * valid), compiles it, and runs it as one query. Used for previews and by tests.
 */
export async function evaluateRule(
  db: Kysely<SiteDatabase>,
  text: string,
  options: CompileOptions = {},
): Promise<string[]> {
  const predicate = compileRule(parseRule(text), options);
  const rows = await db.selectFrom('clients').select('clients.id').where(predicate).execute();
  return rows.map((row) => row.id).sort(compareText);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
