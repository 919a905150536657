import type {
  ComparisonOperator,
  Field,
  Literal,
  PredicateNode,
  RuleNode,
  SoftwareCondition,
  SoftwareField,
} from './ast.js';
import { RuleSyntaxError, describePosition, ruleError } from './errors.js';
import {
  CLIENT_FIELDS,
  DISCOVERY_FIELDS,
  SOFTWARE_FIELDS,
  allowsOperator,
  fieldText,
  isClientFieldName,
  isDiscoveryFieldName,
  isReservedName,
  isSoftwareFieldName,
  literalProblem,
} from './fields.js';
import { tokenize, type Token, type WordToken } from './lexer.js';
import { checkTextLength, checkTokenLimits } from './limits.js';

/**
 * Parses a collection rule (docs/collection-rules.md) into its syntax tree. The limits are checked
 * first (C6): the text length before reading it, the counts over its tokens before building a tree.
 * Every failure is a `RuleSyntaxError` (ERR_COLLECTION_RULE) with the offset where it was found.
 *
 *   rule      := or END
 *   or        := and ("or" and)*
 *   and       := unary ("and" unary)*
 *   unary     := "not"* primary
 *   primary   := "(" or ")" | "exists" field | "software" "(" or ")" | field op literal | field "in" list
 *   list      := "[" literal ("," literal)* "]"
 */
export function parseRule(text: string): RuleNode {
  checkTextLength(text);
  const tokens = tokenize(text);
  checkTokenLimits(text, tokens);
  return new RuleParser(text, tokens).parse();
}

const COMPARISON_OPERATORS: ReadonlySet<string> = new Set(['=', '!=', '<', '<=', '>', '>=', '~']);
const KEYWORDS: ReadonlySet<string> = new Set(['and', 'or', 'not', 'in', 'exists', 'true', 'false']);

/** What differs between the top level of a rule and the inside of `software(...)`. */
interface Scope<N> {
  primary(): N;
  and(operands: N[]): N;
  or(operands: N[]): N;
  not(operand: N): N;
}

class RuleParser {
  private index = 0;
  private readonly ruleScope: Scope<RuleNode>;
  private readonly softwareScope: Scope<SoftwareCondition>;

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
  ) {
    this.ruleScope = {
      primary: () => this.rulePrimary(),
      and: (operands) => ({ kind: 'and', operands }),
      or: (operands) => ({ kind: 'or', operands }),
      not: (operand) => ({ kind: 'not', operand }),
    };
    this.softwareScope = {
      primary: () => this.softwarePrimary(),
      and: (operands) => ({ kind: 'and', operands }),
      or: (operands) => ({ kind: 'or', operands }),
      not: (operand) => ({ kind: 'not', operand }),
    };
  }

  parse(): RuleNode {
    const node = this.or(this.ruleScope);
    const token = this.peek();
    if (token.kind !== 'end') {
      if (token.kind === 'symbol' && token.text === ')')
        throw this.error(token, 'unexpected ")"', 'there is no "(" to close');
      throw this.error(token, 'expected "and", "or" or the end of the rule', token);
    }
    return node;
  }

  private or<N>(scope: Scope<N>): N {
    const first = this.and(scope);
    if (!this.acceptKeyword('or')) return first;
    const operands = [first, this.and(scope)];
    while (this.acceptKeyword('or')) operands.push(this.and(scope));
    return scope.or(operands);
  }

  private and<N>(scope: Scope<N>): N {
    const first = this.unary(scope);
    if (!this.acceptKeyword('and')) return first;
    const operands = [first, this.unary(scope)];
    while (this.acceptKeyword('and')) operands.push(this.unary(scope));
    return scope.and(operands);
  }

  /** `not` binds tighter than `and`; a run of them is read in a loop, so it costs no stack. */
  private unary<N>(scope: Scope<N>): N {
    let nots = 0;
    while (this.acceptKeyword('not')) nots += 1;
    let node = scope.primary();
    for (; nots > 0; nots -= 1) node = scope.not(node);
    return node;
  }

  private group<N>(scope: Scope<N>, open: Token): N {
    const node = this.or(scope);
    const close = this.peek();
    if (close.kind !== 'symbol' || close.text !== ')') {
      const where = (position: number): string => describePosition(this.text, position);
      throw new RuleSyntaxError(
        `expected ")" at ${where(close.position)} to close the "(" at ${where(open.position)}, found ${describe(close)}`,
        close.position,
      );
    }
    this.index += 1;
    return node;
  }

  private rulePrimary(): RuleNode {
    const token = this.next();
    if (token.kind === 'symbol' && token.text === '(') return this.group(this.ruleScope, token);
    if (token.kind !== 'word') throw this.error(token, 'expected a field, "not", "exists" or "("', token);
    const word = token.text.toLowerCase();
    if (word === 'exists')
      return { kind: 'exists', field: this.ruleField(this.expectWord('exists', 'a field')) };
    if (word === 'software') {
      const open = this.next();
      if (open.kind !== 'symbol' || open.text !== '(')
        throw this.error(open, 'expected "(" after "software"', open);
      return { kind: 'software', condition: this.group(this.softwareScope, open) };
    }
    return this.predicate(this.ruleField(token));
  }

  private softwarePrimary(): SoftwareCondition {
    const token = this.next();
    if (token.kind === 'symbol' && token.text === '(') return this.group(this.softwareScope, token);
    if (token.kind !== 'word') {
      throw this.error(token, 'expected a software column, "not", "exists" or "("', token);
    }
    if (token.text.toLowerCase() === 'exists') {
      return { kind: 'exists', field: this.softwareColumn(this.expectWord('exists', 'a software column')) };
    }
    return this.predicate(this.softwareColumn(token));
  }

  /** `field op literal` or `field in [...]`, the field already read. */
  private predicate<F extends Field>(field: F): PredicateNode<F> {
    const token = this.next();
    const name = fieldText(field);
    if (token.kind === 'word' && token.text.toLowerCase() === 'in') {
      return { kind: 'in', field, values: this.list(field) };
    }
    if (token.kind !== 'symbol' || !COMPARISON_OPERATORS.has(token.text)) {
      if (token.kind === 'word' && token.text.toLowerCase() === 'not') {
        throw this.error(token, `"not" cannot follow a field`, `write not ${name} ...`);
      }
      throw this.error(token, `expected an operator (=, !=, <, <=, >, >=, ~ or in) after ${name}`, token);
    }
    const op = token.text as ComparisonOperator;
    if (!allowsOperator(field, op)) {
      throw this.error(token, `${name} cannot be compared with "${op}"`, 'use "=", "~" or "in"');
    }
    const literal = this.next();
    const value = this.literal(literal, `after "${op}"`);
    const problem = literalProblem(field, op, value);
    if (problem !== undefined) throw this.error(literal, problem.problem, problem.detail);
    return { kind: 'compare', field, op, value };
  }

  private list(field: Field): Literal[] {
    const open = this.next();
    if (open.kind !== 'symbol' || open.text !== '[') throw this.error(open, 'expected "[" after "in"', open);
    const values: Literal[] = [];
    for (;;) {
      const token = this.next();
      const value = this.literal(token, values.length === 0 ? 'after "["' : 'after ","');
      const problem = literalProblem(field, 'in', value);
      if (problem !== undefined) throw this.error(token, problem.problem, problem.detail);
      const first = values[0];
      if (first !== undefined && typeof first !== typeof value) {
        throw this.error(token, 'all values in a list must be of one type', `the first is a ${typeof first}`);
      }
      values.push(value);
      const separator = this.next();
      if (separator.kind === 'symbol' && separator.text === ']') return values;
      if (separator.kind !== 'symbol' || separator.text !== ',') {
        throw this.error(separator, 'expected "," or "]" in the list', separator);
      }
    }
  }

  private literal(token: Token, where: string): Literal {
    if (token.kind === 'string' || token.kind === 'number') return token.value;
    if (token.kind === 'word') {
      const word = token.text.toLowerCase();
      if (word === 'true') return true;
      if (word === 'false') return false;
    }
    throw this.error(token, `expected a value ${where}`, token);
  }

  /** Resolves a name at the top level: a fixed field of client, discovery or software, or a fact. */
  private ruleField(token: WordToken): Field {
    const name = token.text;
    const dot = name.indexOf('.');
    if (dot < 0) {
      if (KEYWORDS.has(name.toLowerCase()))
        throw this.error(token, `expected a field, found the keyword "${name}"`);
      const hint = isClientFieldName(name)
        ? `did you mean client.${name}?`
        : 'fields are client.*, discovery.*, software.* or a fact like os.family';
      throw this.error(token, `unknown field "${name}"`, hint);
    }
    if (!isReservedName(name)) return { scope: 'fact', name };
    const prefix = name.slice(0, dot);
    const rest = name.slice(dot + 1);
    if (prefix === 'client' && isClientFieldName(rest)) return { scope: 'client', name: rest };
    if (prefix === 'discovery' && isDiscoveryFieldName(rest)) return { scope: 'discovery', name: rest };
    if (prefix === 'software' && isSoftwareFieldName(rest)) return { scope: 'software', name: rest };
    const lower = prefix.toLowerCase();
    const known = Object.keys(
      lower === 'client' ? CLIENT_FIELDS : lower === 'discovery' ? DISCOVERY_FIELDS : SOFTWARE_FIELDS,
    );
    const hint =
      prefix !== lower && known.includes(rest)
        ? `field names are case-sensitive: write ${lower}.${rest}`
        : `the ${lower} fields are ${known.join(', ')}`;
    throw this.error(token, `unknown field "${name}"`, hint);
  }

  /** Resolves a bare column name inside `software(...)`. */
  private softwareColumn(token: WordToken): SoftwareField {
    const name = token.text;
    if (isSoftwareFieldName(name)) return { scope: 'software', name };
    const columns = Object.keys(SOFTWARE_FIELDS).join(', ');
    if (name.startsWith('software.') && isSoftwareFieldName(name.slice('software.'.length))) {
      throw this.error(token, 'inside software(...) name the column alone', name.slice('software.'.length));
    }
    if (name.toLowerCase() === 'software') throw this.error(token, 'software(...) cannot be nested');
    throw this.error(
      token,
      `unknown software column "${name}"`,
      `inside software(...) the columns are ${columns}`,
    );
  }

  private expectWord(after: string, what: string): WordToken {
    const token = this.next();
    if (token.kind !== 'word') throw this.error(token, `expected ${what} after "${after}"`, token);
    return token;
  }

  private acceptKeyword(keyword: string): boolean {
    const token = this.peek();
    if (token.kind === 'word' && token.text.toLowerCase() === keyword) {
      this.index += 1;
      return true;
    }
    return false;
  }

  private peek(): Token {
    // The token list always ends with an end token, and the index never passes it.
    return this.tokens[Math.min(this.index, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.index += 1;
    return token;
  }

  /** An error at `token`, then what was found there instead, or a hint at what would be right. */
  private error(token: Token, problem: string, found?: Token | string): RuleSyntaxError {
    const detail = found === undefined || typeof found === 'string' ? found : `, found ${describe(found)}`;
    return ruleError(this.text, token.position, problem, detail);
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end of the rule';
    case 'string':
      return 'a string';
    case 'number':
      return `the number ${token.text}`;
    case 'word':
    case 'symbol':
      return `"${token.text}"`;
  }
}
