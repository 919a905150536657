import { StewardError } from '../../../trust/index.js';

/**
 * A collection rule that cannot be accepted: a syntax error, an unknown field, a literal of the wrong
 * type for its field, or a size limit exceeded (C6). `position` is the 0-based offset in the rule text
 * where the problem was found; the message names the 1-based line and column for people.
 */
export class RuleSyntaxError extends StewardError {
  readonly code = 'ERR_COLLECTION_RULE';
  readonly position: number;

  constructor(message: string, position: number, options?: { cause?: unknown }) {
    super(message, options);
    this.position = position;
  }
}

/**
 * Builds a `RuleSyntaxError` that says what is wrong, where, and then (after a colon or a comma, as
 * `detail` begins) what would be right: `expected a value after "=" at column 17, found ")"`.
 */
export function ruleError(text: string, position: number, problem: string, detail?: string): RuleSyntaxError {
  const more = detail === undefined ? '' : detail.startsWith(', ') ? detail : `: ${detail}`;
  return new RuleSyntaxError(`${problem} at ${describePosition(text, position)}${more}`, position);
}

/** "column 17", or "line 2, column 5" for a rule written over several lines. */
export function describePosition(text: string, position: number): string {
  const before = text.slice(0, position);
  const lineStart = before.lastIndexOf('\n') + 1;
  const column = position - lineStart + 1;
  if (!text.includes('\n')) return `column ${column}`;
  const line = before.split('\n').length;
  return `line ${line}, column ${column}`;
}
