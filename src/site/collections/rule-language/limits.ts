import { RuleSyntaxError, ruleError } from './errors.js';
import type { Token } from './lexer.js';

/**
 * C6: every size and count limit of a rule is enforced before the rule is parsed. The text length is
 * checked before the lexer runs; the lexer refuses an over-long literal as soon as it reads it; the
 * counts below are checked over the token list before any syntax tree is built.
 */
export const RULE_LIMITS = {
  /** Characters in the rule text. */
  maxTextLength: 4096,
  /** Comparisons (`=`, `!=`, `<`, `<=`, `>`, `>=`, `~`, `in`, `exists`) in one rule. */
  maxComparisons: 64,
  /** Parentheses open at once, those of `software(...)` included. */
  maxDepth: 16,
  /** Values in one `in [...]` list. */
  maxListItems: 256,
  /** Characters in one string literal, after its escapes are read. */
  maxStringLength: 1024,
  /** Characters in one number literal. */
  maxNumberLength: 32,
  /** Characters in one field name. */
  maxFieldLength: 128,
} as const;

export function checkTextLength(text: string): void {
  if (text.length > RULE_LIMITS.maxTextLength) {
    throw new RuleSyntaxError(
      `a rule may be at most ${RULE_LIMITS.maxTextLength} characters long (this one has ${text.length})`,
      RULE_LIMITS.maxTextLength,
    );
  }
}

/** Counts comparisons, nesting depth and list lengths over the tokens, before parsing. */
export function checkTokenLimits(text: string, tokens: readonly Token[]): void {
  let comparisons = 0;
  let depth = 0;
  let listItems: number | undefined;
  for (const token of tokens) {
    if (isComparison(token)) {
      comparisons += 1;
      if (comparisons > RULE_LIMITS.maxComparisons) {
        throw ruleError(
          text,
          token.position,
          `a rule may hold at most ${RULE_LIMITS.maxComparisons} comparisons`,
        );
      }
    }
    if (token.kind !== 'symbol') {
      if (listItems === 0) listItems = 1;
      continue;
    }
    switch (token.text) {
      case '(':
        depth += 1;
        if (depth > RULE_LIMITS.maxDepth) {
          throw ruleError(
            text,
            token.position,
            `a rule may nest at most ${RULE_LIMITS.maxDepth} parentheses deep`,
          );
        }
        break;
      case ')':
        depth = Math.max(0, depth - 1);
        break;
      case '[':
        listItems = 0;
        break;
      case ']':
        listItems = undefined;
        break;
      case ',':
        if (listItems !== undefined) {
          listItems += 1;
          if (listItems > RULE_LIMITS.maxListItems) {
            throw ruleError(
              text,
              token.position,
              `a list may hold at most ${RULE_LIMITS.maxListItems} values`,
            );
          }
        }
        break;
      default:
        break;
    }
  }
}

function isComparison(token: Token): boolean {
  if (token.kind === 'symbol') return !['(', ')', '[', ']', ','].includes(token.text);
  if (token.kind === 'word') {
    const word = token.text.toLowerCase();
    return word === 'in' || word === 'exists';
  }
  return false;
}
