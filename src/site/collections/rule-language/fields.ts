import type { ClientFieldName, DiscoveryFieldName, Field, Literal, SoftwareFieldName } from './ast.js';

/** The type of value a field holds; `any` is a fact, which holds text and, when numeric, a number. */
export type FieldType = 'string' | 'number' | 'any';

interface FieldSpec {
  /** The SQL column: a fixed allow-list, never built from rule text. */
  readonly column: string;
  readonly type: FieldType;
}

export const CLIENT_FIELDS: Readonly<Record<ClientFieldName, FieldSpec>> = {
  id: { column: 'id', type: 'string' },
  hostname: { column: 'hostname', type: 'string' },
  state: { column: 'state', type: 'string' },
  mode: { column: 'mode', type: 'string' },
  siteCode: { column: 'site_code', type: 'string' },
  lastSeenMinutes: { column: 'last_seen_at', type: 'number' },
};

export const DISCOVERY_FIELDS: Readonly<Record<DiscoveryFieldName, FieldSpec>> = {
  domain: { column: 'domain', type: 'string' },
  agentVersion: { column: 'agent_version', type: 'string' },
  address: { column: 'addresses', type: 'string' },
};

export const SOFTWARE_FIELDS: Readonly<Record<SoftwareFieldName, FieldSpec>> = {
  name: { column: 'name', type: 'string' },
  version: { column: 'version', type: 'string' },
  arch: { column: 'arch', type: 'string' },
  source: { column: 'source', type: 'string' },
};

/** Prefixes that name the fixed fields; no fact may use them. */
export const RESERVED_PREFIXES = ['client', 'discovery', 'software'] as const;

/** A fact name: dotted segments of `[a-zA-Z][a-zA-Z0-9_]*`, at least two, at most 128 characters. */
export const FACT_NAME = /^[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)+$/;
export const MAX_FACT_NAME_LENGTH = 128;

function hasOwn<K extends string>(table: Readonly<Record<K, FieldSpec>>, name: string): name is K {
  return Object.hasOwn(table, name);
}

export function isClientFieldName(name: string): name is ClientFieldName {
  return hasOwn(CLIENT_FIELDS, name);
}
export function isDiscoveryFieldName(name: string): name is DiscoveryFieldName {
  return hasOwn(DISCOVERY_FIELDS, name);
}
export function isSoftwareFieldName(name: string): name is SoftwareFieldName {
  return hasOwn(SOFTWARE_FIELDS, name);
}

/** Looks a field up in the allow-list; undefined for a field no table holds. */
export function fieldSpec(field: Field): FieldSpec | undefined {
  switch (field.scope) {
    case 'client':
      return isClientFieldName(field.name) ? CLIENT_FIELDS[field.name] : undefined;
    case 'discovery':
      return isDiscoveryFieldName(field.name) ? DISCOVERY_FIELDS[field.name] : undefined;
    case 'software':
      return isSoftwareFieldName(field.name) ? SOFTWARE_FIELDS[field.name] : undefined;
    case 'fact':
      return field.name.length <= MAX_FACT_NAME_LENGTH &&
        FACT_NAME.test(field.name) &&
        !isReservedName(field.name)
        ? { column: 'value', type: 'any' }
        : undefined;
  }
}

export function isReservedName(name: string): boolean {
  const prefix = name.split('.', 1)[0]?.toLowerCase();
  return RESERVED_PREFIXES.some((reserved) => reserved === prefix);
}

/** The field's name as written in a rule: `client.hostname`, `os.family`. */
export function fieldText(field: Field): string {
  return field.scope === 'fact' ? field.name : `${field.scope}.${field.name}`;
}

/** Operators a field accepts; `discovery.address` compares any of several values, so only `=` and `~`. */
export function allowsOperator(field: Field, op: string): boolean {
  if (field.scope === 'discovery' && field.name === 'address') return op === '=' || op === '~';
  return true;
}

export interface LiteralProblem {
  readonly problem: string;
  readonly detail?: string;
}

/** Why `value` cannot be compared with `field` by `op`, or undefined when it can. */
export function literalProblem(field: Field, op: string, value: Literal): LiteralProblem | undefined {
  const spec = fieldSpec(field);
  const name = fieldText(field);
  if (spec === undefined) return { problem: `unknown field "${name}"` };
  if (op === '~' && typeof value !== 'string') {
    return { problem: '"~" needs a glob pattern in quotes', detail: 'like "web*"' };
  }
  if (typeof value === 'boolean') {
    if (spec.type !== 'any') {
      return { problem: `${name} holds ${spec.type === 'string' ? 'text' : 'numbers'}, not true or false` };
    }
    if (op !== '=' && op !== '!=' && op !== 'in') {
      return { problem: 'true and false can only be compared with "=" or "!="' };
    }
    return undefined;
  }
  if (spec.type === 'string' && typeof value === 'number') {
    return { problem: `${name} holds text`, detail: `write the value in quotes, "${String(value)}"` };
  }
  if (spec.type === 'number' && typeof value === 'string') {
    return { problem: `${name} holds a number`, detail: 'write it without quotes' };
  }
  return undefined;
}
