import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type {
  AndNode,
  ComparisonOperator,
  Field,
  Literal,
  NotNode,
  OrNode,
  PredicateNode,
  RuleNode,
  SoftwareCondition,
} from './ast.js';
import { RuleSyntaxError } from './errors.js';
import { fieldSpec, fieldText } from './fields.js';

export interface CompileOptions {
  /** The time `client.lastSeenMinutes` counts from; the database's `now()` when absent. */
  readonly now?: Date;
}

/**
 * Compiles a rule into a SQL predicate over the `clients` table, for use as
 * `db.selectFrom('clients').select('clients.id').where(compileRule(rule))`. The outer query must read
 * `clients` under that name; the subqueries use aliases of their own (`rule_fact`, `rule_software`,
 * `rule_discovery`, `rule_address`).
 *
 * Every value of the rule is a bound parameter; every identifier comes from the fixed allow-list in
 * ./fields.ts. Each predicate is two-valued (never SQL NULL), so `not` means what it says.
 */
export function compileRule(node: RuleNode, options: CompileOptions = {}): RawBuilder<SqlBool> {
  const now = options.now === undefined ? sql`now()` : sql`cast(${options.now.toISOString()} as timestamptz)`;
  const compileNode = (current: RuleNode): RawBuilder<SqlBool> => {
    switch (current.kind) {
      case 'and':
      case 'or':
      case 'not':
        return combine(current, compileNode);
      case 'software':
        return softwareRowExists(compileSoftwareCondition(current.condition));
      default:
        return compilePredicate(current, now);
    }
  };
  return compileNode(node);
}

/** `and`, `or` and `not`, over already compiled operands. */
function combine<N>(
  node: AndNode<N> | OrNode<N> | NotNode<N>,
  compile: (operand: N) => RawBuilder<SqlBool>,
): RawBuilder<SqlBool> {
  if (node.kind === 'not') return sql<SqlBool>`(not ${compile(node.operand)})`;
  if (node.operands.length === 0)
    throw new RuleSyntaxError(`an "${node.kind}" needs at least one operand`, 0);
  const separator = node.kind === 'and' ? sql` and ` : sql` or `;
  return sql<SqlBool>`(${sql.join(node.operands.map(compile), separator)})`;
}

function compileSoftwareCondition(node: SoftwareCondition): RawBuilder<SqlBool> {
  if (node.kind === 'and' || node.kind === 'or' || node.kind === 'not')
    return combine(node, compileSoftwareCondition);
  return condition(sql.ref(`rule_software.${column(node.field)}`), 'text', node);
}

function compilePredicate(node: PredicateNode, now: RawBuilder<unknown>): RawBuilder<SqlBool> {
  const field = node.field;
  switch (field.scope) {
    case 'client':
      if (field.name === 'lastSeenMinutes') {
        if (node.kind === 'exists') return sql<SqlBool>`(clients.last_seen_at is not null)`;
        const minutes = sql`(extract(epoch from (${now} - clients.last_seen_at)) / 60)`;
        // A client never seen has no age: the comparison is false, never NULL.
        return sql<SqlBool>`coalesce(${condition(minutes, 'number', node)}, false)`;
      }
      return condition(sql.ref(`clients.${column(field)}`), 'text', node);
    case 'discovery': {
      const where =
        field.name === 'address'
          ? anyAddress(condition(sql.ref('rule_address.address'), 'text', node))
          : condition(sql.ref(`rule_discovery.${column(field)}`), 'text', node);
      return sql<SqlBool>`exists (select 1 from discovery as rule_discovery where rule_discovery.client_id = clients.id and ${where})`;
    }
    case 'software':
      return softwareRowExists(condition(sql.ref(`rule_software.${column(field)}`), 'text', node));
    case 'fact': {
      column(field);
      const numeric =
        node.kind === 'compare'
          ? typeof node.value === 'number'
          : node.kind === 'in' && typeof node.values[0] === 'number';
      const where = numeric
        ? condition(sql.ref('rule_fact.num'), 'number', node)
        : condition(sql.ref('rule_fact.value'), 'text', node);
      return sql<SqlBool>`exists (select 1 from inventory_facts as rule_fact where rule_fact.client_id = clients.id and rule_fact.name = ${field.name} and ${where})`;
    }
  }
}

/** Some element of the discovery row's address list (a JSON array; anything else counts as empty). */
function anyAddress(where: RawBuilder<SqlBool>): RawBuilder<SqlBool> {
  const addresses = sql`case when jsonb_typeof(rule_discovery.addresses) = 'array' then rule_discovery.addresses else '[]'::jsonb end`;
  return sql<SqlBool>`exists (select 1 from jsonb_array_elements_text(${addresses}) as rule_address(address) where ${where})`;
}

function softwareRowExists(where: RawBuilder<SqlBool>): RawBuilder<SqlBool> {
  return sql<SqlBool>`exists (select 1 from inventory_software as rule_software where rule_software.client_id = clients.id and ${where})`;
}

/** The allow-listed column of a field; a field not in the list is refused, never quoted into SQL. */
function column(field: Field): string {
  const spec = fieldSpec(field);
  if (spec === undefined) throw new RuleSyntaxError(`unknown field "${fieldText(field)}"`, 0);
  return spec.column;
}

const SQL_OPERATORS: Readonly<Record<Exclude<ComparisonOperator, '~'>, string>> = {
  '=': '=',
  '!=': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};

/**
 * One predicate over one value expression. Text orders byte by byte (`collate "C"`), the same on every
 * back end whatever the database's collation; numbers compare as double precision.
 */
function condition(
  value: RawBuilder<unknown>,
  type: 'text' | 'number',
  node: PredicateNode,
): RawBuilder<SqlBool> {
  switch (node.kind) {
    case 'exists':
      return type === 'text'
        ? sql<SqlBool>`(${value} is not null and ${value} <> '')`
        : sql<SqlBool>`(${value} is not null)`;
    case 'in':
      return sql<SqlBool>`(${value} in (${sql.join(node.values.map((item) => parameter(item, type)))}))`;
    case 'compare': {
      if (node.op === '~') {
        if (typeof node.value !== 'string')
          throw new RuleSyntaxError('"~" takes a glob pattern in quotes', 0);
        return sql<SqlBool>`(${value} like ${globToLike(node.value)} escape '\\')`;
      }
      const operator = sql.raw(SQL_OPERATORS[node.op]);
      const ordered = node.op !== '=' && node.op !== '!=' && type === 'text';
      return ordered
        ? sql<SqlBool>`(${value} collate "C" ${operator} ${parameter(node.value, type)})`
        : sql<SqlBool>`(${value} ${operator} ${parameter(node.value, type)})`;
    }
  }
}

/** A literal as a bound parameter: numbers cast to double precision, booleans as the text of a fact. */
function parameter(value: Literal, type: 'text' | 'number'): RawBuilder<unknown> {
  if (type === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new RuleSyntaxError(`expected a finite number, found ${JSON.stringify(value)}`, 0);
    }
    return sql`cast(${value} as double precision)`;
  }
  return sql`${typeof value === 'string' ? value : String(value)}`;
}

/**
 * A glob (`*` any run of characters, `?` one character) as a LIKE pattern. `%`, `_` and `\` in the
 * glob match themselves: they are escaped with `\`, the escape character the predicate names.
 */
export function globToLike(glob: string): string {
  let pattern = '';
  for (const ch of glob) {
    if (ch === '*') pattern += '%';
    else if (ch === '?') pattern += '_';
    else if (ch === '%' || ch === '_' || ch === '\\') pattern += `\\${ch}`;
    else pattern += ch;
  }
  return pattern;
}
