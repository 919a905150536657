import type { Field, Literal, PredicateNode, RuleNode, SoftwareCondition } from './ast.js';
import { fieldText } from './fields.js';

/**
 * Writes a rule's syntax tree as canonical text: keywords in lower case, single spaces, parentheses
 * only where the tree needs them. `parseRule(formatRule(node))` deep-equals `node` for every tree
 * `parseRule` can return.
 */
export function formatRule(node: RuleNode): string {
  return formatNode(node, false);
}

type AnyNode = RuleNode | SoftwareCondition;

function formatNode(node: AnyNode, inSoftwareGroup: boolean): string {
  switch (node.kind) {
    case 'and':
      // An `and` or `or` inside an `and` keeps its parentheses: without them it would read as one list.
      return node.operands
        .map((operand) => wrap(operand, inSoftwareGroup, operand.kind === 'and' || operand.kind === 'or'))
        .join(' and ');
    case 'or':
      return node.operands
        .map((operand) => wrap(operand, inSoftwareGroup, operand.kind === 'or'))
        .join(' or ');
    case 'not':
      return `not ${wrap(node.operand, inSoftwareGroup, node.operand.kind === 'and' || node.operand.kind === 'or')}`;
    case 'software':
      return `software(${formatNode(node.condition, true)})`;
    default:
      return formatPredicate(node, inSoftwareGroup);
  }
}

function wrap(node: AnyNode, inSoftwareGroup: boolean, parenthesise: boolean): string {
  const text = formatNode(node, inSoftwareGroup);
  return parenthesise ? `(${text})` : text;
}

function formatPredicate(node: PredicateNode, inSoftwareGroup: boolean): string {
  const field = formatField(node.field, inSoftwareGroup);
  switch (node.kind) {
    case 'compare':
      return `${field} ${node.op} ${formatLiteral(node.value)}`;
    case 'in':
      return `${field} in [${node.values.map(formatLiteral).join(', ')}]`;
    case 'exists':
      return `exists ${field}`;
  }
}

function formatField(field: Field, inSoftwareGroup: boolean): string {
  return inSoftwareGroup ? field.name : fieldText(field);
}

export function formatLiteral(value: Literal): string {
  if (typeof value === 'string') return `"${value.replace(/["\\]/g, '\\$&')}"`;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return formatNumber(value);
}

/**
 * A number in the rule syntax: plain decimal digits, never an exponent. JavaScript's shortest
 * round-trip digits are kept, so the text reads back as the same number.
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`a rule cannot hold the number ${String(value)}`);
  const text = String(value === 0 ? 0 : value);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (match === null) return text;
  const [, sign = '', first = '', rest = '', exponentText = '0'] = match;
  const digits = first + rest;
  const point = 1 + Number(exponentText);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
