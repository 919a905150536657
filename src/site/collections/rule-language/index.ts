/**
 * The collection rule language (docs/collection-rules.md): a small expression language over client
 * inventory and discovery data, parsed by hand and compiled to a parameterised SQL predicate.
 */
export type {
  AndNode,
  ClientField,
  ClientFieldName,
  ComparisonNode,
  ComparisonOperator,
  DiscoveryField,
  DiscoveryFieldName,
  ExistsNode,
  FactField,
  Field,
  InNode,
  Literal,
  NotNode,
  OrNode,
  PredicateNode,
  RuleNode,
  SoftwareCondition,
  SoftwareField,
  SoftwareFieldName,
  SoftwareGroupNode,
} from './ast.js';
export { compileRule, globToLike, type CompileOptions } from './compiler.js';
export { RuleSyntaxError } from './errors.js';
export { evaluateRule } from './evaluate.js';
export { formatLiteral, formatRule } from './format.js';
export { RULE_LIMITS } from './limits.js';
export { parseRule } from './parser.js';
