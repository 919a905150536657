import fc from 'fast-check';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  RULE_LIMITS,
  RuleSyntaxError,
  compileRule,
  formatRule,
  parseRule,
  type ComparisonOperator,
  type Field,
  type Literal,
  type PredicateNode,
  type RuleNode,
  type SoftwareCondition,
  type SoftwareField,
} from '../../src/site/collections/rule-language/index.js';
import { formatLiteral, formatNumber } from '../../src/site/collections/rule-language/format.js';
import type { SiteDatabase } from '../../src/site/database/schema.js';

/** Property tests (CONVENTIONS.md: fast-check for every parser and every encode/decode pair). */

const ALL_OPERATORS: ComparisonOperator[] = ['=', '!=', '<', '<=', '>', '>=', '~'];
const ORDERING: ComparisonOperator[] = ['=', '!=', '<', '<=', '>', '>='];

const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('"', '\\', '\\"', '%', '_', '*?', "'; drop table clients; --", ''),
);
const number = fc.oneof(
  fc.integer(),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .map((value) => (value === 0 ? 0 : value))
    .filter((value) => formatNumber(value).length <= RULE_LIMITS.maxNumberLength),
);

const factName = fc
  .stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,6}(\.[a-zA-Z][a-zA-Z0-9_]{0,6}){1,3}$/)
  .filter((name) => !['client', 'discovery', 'software'].includes(name.split('.')[0]!.toLowerCase()));

type FieldKind = 'text' | 'number' | 'address' | 'fact';
const textField = fc.oneof(
  fc.constantFrom<Field>(
    { scope: 'client', name: 'id' },
    { scope: 'client', name: 'hostname' },
    { scope: 'client', name: 'state' },
    { scope: 'client', name: 'mode' },
    { scope: 'client', name: 'siteCode' },
    { scope: 'discovery', name: 'domain' },
    { scope: 'discovery', name: 'agentVersion' },
  ),
  fc.constantFrom<SoftwareField>(
    { scope: 'software', name: 'name' },
    { scope: 'software', name: 'version' },
    { scope: 'software', name: 'arch' },
    { scope: 'software', name: 'source' },
  ),
);
const softwareField = fc.constantFrom<SoftwareField>(
  { scope: 'software', name: 'name' },
  { scope: 'software', name: 'version' },
  { scope: 'software', name: 'arch' },
  { scope: 'software', name: 'source' },
);

/** A predicate whose literals suit its field, the way the parser accepts them. */
function predicate<F extends Field>(field: fc.Arbitrary<F>, kind: FieldKind): fc.Arbitrary<PredicateNode<F>> {
  const compare = (ops: ComparisonOperator[], value: fc.Arbitrary<Literal>): fc.Arbitrary<PredicateNode<F>> =>
    fc.record({ kind: fc.constant('compare' as const), field, op: fc.constantFrom(...ops), value });
  const list = (value: fc.Arbitrary<Literal>): fc.Arbitrary<PredicateNode<F>> =>
    fc.record({
      kind: fc.constant('in' as const),
      field,
      values: fc.array(value, { minLength: 1, maxLength: 4 }),
    });
  const exists: fc.Arbitrary<PredicateNode<F>> = fc.record({ kind: fc.constant('exists' as const), field });
  switch (kind) {
    case 'text':
      return fc.oneof(compare(ALL_OPERATORS, text), list(text), exists);
    case 'number':
      return fc.oneof(compare(ORDERING, number), list(number), exists);
    case 'address':
      return fc.oneof(compare(['=', '~'], text), list(text), exists);
    case 'fact':
      return fc.oneof(
        compare(ALL_OPERATORS, text),
        compare(ORDERING, number),
        compare(['=', '!='], fc.boolean()),
        list(text),
        list(number),
        list(fc.boolean()),
        exists,
      );
  }
}

const rulePredicate: fc.Arbitrary<RuleNode> = fc.oneof(
  predicate(textField, 'text'),
  predicate(fc.constant<Field>({ scope: 'client', name: 'lastSeenMinutes' }), 'number'),
  predicate(fc.constant<Field>({ scope: 'discovery', name: 'address' }), 'address'),
  predicate(
    factName.map((name): Field => ({ scope: 'fact', name })),
    'fact',
  ),
);

const { condition: softwareCondition } = fc.letrec<{ condition: SoftwareCondition }>((tie) => ({
  condition: fc.oneof(
    { maxDepth: 2, depthIdentifier: 'software' },
    predicate(softwareField, 'text'),
    fc.record({
      kind: fc.constant('and' as const),
      operands: fc.array(tie('condition'), { minLength: 2, maxLength: 3 }),
    }),
    fc.record({
      kind: fc.constant('or' as const),
      operands: fc.array(tie('condition'), { minLength: 2, maxLength: 3 }),
    }),
    fc.record({ kind: fc.constant('not' as const), operand: tie('condition') }),
  ),
}));

const { rule: ruleTree } = fc.letrec<{ rule: RuleNode }>((tie) => ({
  rule: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'rule' },
    rulePredicate,
    fc.record({ kind: fc.constant('software' as const), condition: softwareCondition }),
    fc.record({
      kind: fc.constant('and' as const),
      operands: fc.array(tie('rule'), { minLength: 2, maxLength: 3 }),
    }),
    fc.record({
      kind: fc.constant('or' as const),
      operands: fc.array(tie('rule'), { minLength: 2, maxLength: 3 }),
    }),
    fc.record({ kind: fc.constant('not' as const), operand: tie('rule') }),
  ),
}));

/** Trees within the C6 limits, so that their canonical text must parse. */
const rule = ruleTree.filter((node) => {
  const formatted = formatRule(node);
  const comparisons = formatted.match(/ (=|!=|<|<=|>|>=|~|in) |exists /g)?.length ?? 0;
  return formatted.length <= RULE_LIMITS.maxTextLength && comparisons <= RULE_LIMITS.maxComparisons;
});

const compiler = new Kysely<SiteDatabase>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

function compiled(node: RuleNode): { sql: string; parameters: readonly unknown[] } {
  return compiler.selectFrom('clients').select('clients.id').where(compileRule(node)).compile();
}

/** The same tree with every literal replaced by another of the same type. */
function replaceLiterals<N extends RuleNode | SoftwareCondition>(
  node: N,
  replace: (value: Literal) => Literal,
): N {
  const walk = (current: RuleNode | SoftwareCondition): RuleNode | SoftwareCondition => {
    switch (current.kind) {
      case 'and':
      case 'or':
        return { kind: current.kind, operands: current.operands.map(walk) } as RuleNode;
      case 'not':
        return { kind: 'not', operand: walk(current.operand) };
      case 'software':
        return { kind: 'software', condition: walk(current.condition) as SoftwareCondition };
      case 'compare':
        return { ...current, value: replace(current.value) };
      case 'in':
        return { ...current, values: current.values.map(replace) };
      case 'exists':
        return current;
    }
  };
  return walk(node) as N;
}

describe('collection rule properties', () => {
  it('formatRule then parseRule gives back the same tree', () => {
    fc.assert(
      fc.property(rule, (node) => {
        expect(parseRule(formatRule(node))).toEqual(node);
      }),
      { numRuns: 500 },
    );
  });

  it('formatRule is canonical: formatting a parsed canonical text gives the same text', () => {
    fc.assert(
      fc.property(rule, (node) => {
        const canonical = formatRule(node);
        expect(formatRule(parseRule(canonical))).toBe(canonical);
      }),
    );
  });

  it('any string literal reads back as itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: RULE_LIMITS.maxStringLength }), (value) => {
        expect(parseRule(`a.b = ${formatLiteral(value)}`)).toMatchObject({ value });
      }),
    );
  });

  it('any number in plain decimal reads back as the same number', () => {
    fc.assert(
      fc.property(number, (value) => {
        expect(parseRule(`a.b = ${formatNumber(value)}`)).toMatchObject({ value });
      }),
      { numRuns: 500 },
    );
  });

  const soup = fc
    .array(
      fc.constantFrom(
        'client.hostname',
        'client.x',
        'os.family',
        'software',
        'name',
        '(',
        ')',
        '[',
        ']',
        ',',
        '=',
        '!=',
        '<',
        '<=',
        '~',
        '!',
        'in',
        'not',
        'and',
        'OR',
        'exists',
        '"x"',
        '"',
        '\\',
        '1',
        '-',
        '-1.5',
        '1.',
        'true',
        ' ',
        '\n',
        '.',
        '@',
      ),
      { maxLength: 30 },
    )
    .chain((parts) => fc.constantFrom(parts.join(' '), parts.join('')));

  it('any text either parses or fails with a RuleSyntaxError at a position inside it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), soup), (input) => {
        try {
          const node = parseRule(input);
          expect(parseRule(formatRule(node))).toEqual(node);
        } catch (error) {
          expect(error).toBeInstanceOf(RuleSyntaxError);
          const position = (error as RuleSyntaxError).position;
          expect(position).toBeGreaterThanOrEqual(0);
          expect(position).toBeLessThanOrEqual(input.length);
          expect((error as RuleSyntaxError).code).toBe('ERR_COLLECTION_RULE');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses to compile a hand-built tree whose field is outside the allow-list', () => {
    const forged = [
      { kind: 'exists', field: { scope: 'client', name: 'id; drop table clients' } },
      { kind: 'compare', field: { scope: 'software', name: 'name"--' }, op: '=', value: 'x' },
      { kind: 'compare', field: { scope: 'fact', name: "os.family'--" }, op: '=', value: 'x' },
      { kind: 'compare', field: { scope: 'fact', name: 'client.hostname' }, op: '=', value: 'x' },
      { kind: 'and', operands: [] },
    ] as unknown as RuleNode[];
    for (const node of forged) {
      expect(() => compileRule(node)).toThrow(RuleSyntaxError);
    }
  });

  it('the SQL text depends only on the rule structure: every value is a bound parameter', () => {
    const swap = (value: Literal): Literal =>
      typeof value === 'string' ? `x'"\\%_${value}` : typeof value === 'number' ? value + 1 : !value;
    fc.assert(
      fc.property(rule, (node) => {
        const original = compiled(node);
        const swapped = compiled(replaceLiterals(node, swap));
        expect(swapped.sql).toBe(original.sql);
        expect(original.sql).not.toMatch(/drop table/i);
      }),
      { numRuns: 300 },
    );
  });
});
