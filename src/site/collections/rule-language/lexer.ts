import { ruleError } from './errors.js';
import { RULE_LIMITS } from './limits.js';

export type ComparisonSymbol = '=' | '!=' | '<' | '<=' | '>' | '>=' | '~';
export type PunctuationSymbol = '(' | ')' | '[' | ']' | ',';

interface TokenBase {
  /** 0-based offset of the token's first character. */
  readonly position: number;
  /** 0-based offset just past the token's last character. */
  readonly end: number;
}

/** A name: a keyword (`and`, `in`, ...), a field (`client.hostname`, `os.family`) or a software column. */
export interface WordToken extends TokenBase {
  readonly kind: 'word';
  readonly text: string;
}
export interface StringToken extends TokenBase {
  readonly kind: 'string';
  /** The string's value, escapes already read. */
  readonly value: string;
}
export interface NumberToken extends TokenBase {
  readonly kind: 'number';
  readonly value: number;
  readonly text: string;
}
export interface SymbolToken extends TokenBase {
  readonly kind: 'symbol';
  readonly text: ComparisonSymbol | PunctuationSymbol;
}
export interface EndToken extends TokenBase {
  readonly kind: 'end';
}
export type Token = WordToken | StringToken | NumberToken | SymbolToken | EndToken;

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const PUNCTUATION = new Set(['(', ')', '[', ']', ',']);

function isLetter(ch: string | undefined): boolean {
  return ch !== undefined && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'));
}
function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}
function isNameCharacter(ch: string | undefined): boolean {
  return isLetter(ch) || isDigit(ch) || ch === '_';
}

/** Shows one character of the rule in a message, control characters escaped. */
export function showCharacter(ch: string): string {
  return JSON.stringify(ch);
}

/**
 * Splits rule text into tokens. Runs in one pass over text whose length was already checked (C6),
 * and refuses a string or number literal past its limit as soon as it reads it.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (WHITESPACE.has(ch)) {
      i += 1;
    } else if (isLetter(ch)) {
      const token = readWord(text, i);
      tokens.push(token);
      i = token.end;
    } else if (isDigit(ch) || (ch === '-' && isDigit(text[i + 1]))) {
      const token = readNumber(text, i);
      tokens.push(token);
      i = token.end;
    } else if (ch === '"') {
      const token = readString(text, i);
      tokens.push(token);
      i = token.end;
    } else if (PUNCTUATION.has(ch)) {
      tokens.push({ kind: 'symbol', text: ch as PunctuationSymbol, position: i, end: i + 1 });
      i += 1;
    } else if (ch === '=' || ch === '~') {
      tokens.push({ kind: 'symbol', text: ch, position: i, end: i + 1 });
      i += 1;
    } else if (ch === '<' || ch === '>' || ch === '!') {
      const two = text.slice(i, i + 2);
      if (two === '<=' || two === '>=' || two === '!=') {
        tokens.push({ kind: 'symbol', text: two, position: i, end: i + 2 });
        i += 2;
      } else if (ch === '!') {
        throw ruleError(text, i, 'expected "!="', 'write "not" to negate');
      } else {
        tokens.push({ kind: 'symbol', text: ch, position: i, end: i + 1 });
        i += 1;
      }
    } else {
      throw ruleError(text, i, `unexpected character ${showCharacter(ch)}`);
    }
  }
  tokens.push({ kind: 'end', position: text.length, end: text.length });
  return tokens;
}

/** A name is segments of `[a-zA-Z][a-zA-Z0-9_]*` joined by single dots. */
function readWord(text: string, start: number): WordToken {
  let i = start;
  for (;;) {
    while (isNameCharacter(text[i])) i += 1;
    if (text[i] !== '.') break;
    if (!isLetter(text[i + 1])) {
      throw ruleError(text, i + 1, 'expected a letter after "." in a field name');
    }
    i += 1;
  }
  if (i - start > RULE_LIMITS.maxFieldLength) {
    throw ruleError(text, start, `a field name is longer than ${RULE_LIMITS.maxFieldLength} characters`);
  }
  return { kind: 'word', text: text.slice(start, i), position: start, end: i };
}

/** `-?[0-9]+(\.[0-9]+)?`, and nothing name-like straight after it. */
function readNumber(text: string, start: number): NumberToken {
  let i = start;
  if (text[i] === '-') i += 1;
  while (isDigit(text[i])) i += 1;
  if (text[i] === '.') {
    if (!isDigit(text[i + 1])) throw ruleError(text, i + 1, 'expected a digit after "." in a number');
    i += 1;
    while (isDigit(text[i])) i += 1;
  }
  const next = text.charAt(i);
  if (next === '.' || isNameCharacter(next)) {
    throw ruleError(
      text,
      i,
      `unexpected ${showCharacter(next)} after the number ${text.slice(start, i)}`,
      'quote version strings, like "1.2.3"',
    );
  }
  const source = text.slice(start, i);
  if (source.length > RULE_LIMITS.maxNumberLength) {
    throw ruleError(text, start, `a number is longer than ${RULE_LIMITS.maxNumberLength} characters`);
  }
  const value = Number(source);
  // A leading minus on zero reads as 0: the syntax tree holds one zero, so formatting round-trips.
  return { kind: 'number', value: value === 0 ? 0 : value, text: source, position: start, end: i };
}

/** A double-quoted string; `\"` and `\\` are its only escapes. */
function readString(text: string, start: number): StringToken {
  let value = '';
  let i = start + 1;
  for (;;) {
    if (i >= text.length) throw ruleError(text, start, 'this string has no closing quote');
    const ch = text.charAt(i);
    if (ch === '"') break;
    if (ch === '\\') {
      const escaped = text[i + 1];
      if (escaped !== '"' && escaped !== '\\') {
        throw ruleError(text, i, 'unknown escape in a string', 'only \\" and \\\\ are allowed');
      }
      value += escaped;
      i += 2;
    } else {
      value += ch;
      i += 1;
    }
    if (value.length > RULE_LIMITS.maxStringLength) {
      throw ruleError(text, start, `a string is longer than ${RULE_LIMITS.maxStringLength} characters`);
    }
  }
  return { kind: 'string', value, position: start, end: i + 1 };
}
