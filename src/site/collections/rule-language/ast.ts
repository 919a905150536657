/**
 * The syntax tree of a collection rule (docs/collection-rules.md). It is plain data: it can be stored
 * as JSON, compared with deep equality, and turned back into canonical text by `formatRule`.
 */

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=' | '~';

/** A literal value: a string, a finite number, or a boolean. */
export type Literal = string | number | boolean;

export type ClientFieldName = 'id' | 'hostname' | 'state' | 'mode' | 'siteCode' | 'lastSeenMinutes';
export type DiscoveryFieldName = 'domain' | 'agentVersion' | 'address';
export type SoftwareFieldName = 'name' | 'version' | 'arch' | 'source';

/** A column of the `clients` row itself. */
export interface ClientField {
  readonly scope: 'client';
  readonly name: ClientFieldName;
}
/** A column of the client's `discovery` row; `address` is any element of its address list. */
export interface DiscoveryField {
  readonly scope: 'discovery';
  readonly name: DiscoveryFieldName;
}
/** A column of one of the client's `inventory_software` rows. */
export interface SoftwareField {
  readonly scope: 'software';
  readonly name: SoftwareFieldName;
}
/** An inventory fact by its dotted name (`os.family`, `memory.totalMb`). */
export interface FactField {
  readonly scope: 'fact';
  readonly name: string;
}
export type Field = ClientField | DiscoveryField | SoftwareField | FactField;

export interface ComparisonNode<F extends Field = Field> {
  readonly kind: 'compare';
  readonly field: F;
  readonly op: ComparisonOperator;
  readonly value: Literal;
}
export interface InNode<F extends Field = Field> {
  readonly kind: 'in';
  readonly field: F;
  /** One to 256 values, all of the same type. */
  readonly values: readonly Literal[];
}
export interface ExistsNode<F extends Field = Field> {
  readonly kind: 'exists';
  readonly field: F;
}
export type PredicateNode<F extends Field = Field> = ComparisonNode<F> | InNode<F> | ExistsNode<F>;

export interface AndNode<N> {
  readonly kind: 'and';
  /** Two or more operands. */
  readonly operands: readonly N[];
}
export interface OrNode<N> {
  readonly kind: 'or';
  /** Two or more operands. */
  readonly operands: readonly N[];
}
export interface NotNode<N> {
  readonly kind: 'not';
  readonly operand: N;
}

/** `software(...)`: one software row that satisfies the whole condition. */
export interface SoftwareGroupNode {
  readonly kind: 'software';
  readonly condition: SoftwareCondition;
}

/** The condition inside `software(...)`: predicates over bare software columns. */
export type SoftwareCondition =
  | AndNode<SoftwareCondition>
  | OrNode<SoftwareCondition>
  | NotNode<SoftwareCondition>
  | PredicateNode<SoftwareField>;

/** A whole rule. */
export type RuleNode =
  AndNode<RuleNode> | OrNode<RuleNode> | NotNode<RuleNode> | PredicateNode | SoftwareGroupNode;
