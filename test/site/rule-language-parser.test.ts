import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  RULE_LIMITS,
  RuleSyntaxError,
  formatRule,
  parseRule,
  type RuleNode,
} from '../../src/site/collections/rule-language/index.js';
import { StewardError } from '../../src/trust/index.js';

/** Parses `text` expecting a RuleSyntaxError, and returns it. */
function parseError(text: string): RuleSyntaxError {
  try {
    parseRule(text);
  } catch (error) {
    expect(error).toBeInstanceOf(RuleSyntaxError);
    return error as RuleSyntaxError;
  }
  throw new Error(`expected "${text}" to be refused`);
}

const linux: RuleNode = {
  kind: 'compare',
  field: { scope: 'fact', name: 'os.family' },
  op: '=',
  value: 'linux',
};

describe('collection rule parser: every construct', () => {
  const cases: [string, RuleNode][] = [
    ['os.family = "linux"', linux],
    [
      'client.hostname != "web01"',
      { kind: 'compare', field: { scope: 'client', name: 'hostname' }, op: '!=', value: 'web01' },
    ],
    [
      'client.lastSeenMinutes < 60',
      { kind: 'compare', field: { scope: 'client', name: 'lastSeenMinutes' }, op: '<', value: 60 },
    ],
    [
      'memory.totalMb <= 16000',
      { kind: 'compare', field: { scope: 'fact', name: 'memory.totalMb' }, op: '<=', value: 16000 },
    ],
    [
      'disk.freeMb > -12.5',
      { kind: 'compare', field: { scope: 'fact', name: 'disk.freeMb' }, op: '>', value: -12.5 },
    ],
    ['cpu.cores >= 4', { kind: 'compare', field: { scope: 'fact', name: 'cpu.cores' }, op: '>=', value: 4 }],
    [
      'client.hostname ~ "web-*"',
      { kind: 'compare', field: { scope: 'client', name: 'hostname' }, op: '~', value: 'web-*' },
    ],
    [
      'os.virtual = true',
      { kind: 'compare', field: { scope: 'fact', name: 'os.virtual' }, op: '=', value: true },
    ],
    [
      'os.virtual != FALSE',
      { kind: 'compare', field: { scope: 'fact', name: 'os.virtual' }, op: '!=', value: false },
    ],
    [
      'client.siteCode = "S01"',
      { kind: 'compare', field: { scope: 'client', name: 'siteCode' }, op: '=', value: 'S01' },
    ],
    ['client.id = "c1"', { kind: 'compare', field: { scope: 'client', name: 'id' }, op: '=', value: 'c1' }],
    [
      'client.state = "approved"',
      { kind: 'compare', field: { scope: 'client', name: 'state' }, op: '=', value: 'approved' },
    ],
    [
      'client.mode = "secure"',
      { kind: 'compare', field: { scope: 'client', name: 'mode' }, op: '=', value: 'secure' },
    ],
    [
      'discovery.domain = "corp"',
      { kind: 'compare', field: { scope: 'discovery', name: 'domain' }, op: '=', value: 'corp' },
    ],
    [
      'discovery.agentVersion ~ "1.2.*"',
      { kind: 'compare', field: { scope: 'discovery', name: 'agentVersion' }, op: '~', value: '1.2.*' },
    ],
    [
      'discovery.address in ["10.0.0.1", "fe80::1"]',
      { kind: 'in', field: { scope: 'discovery', name: 'address' }, values: ['10.0.0.1', 'fe80::1'] },
    ],
    [
      'software.name = "openssl"',
      { kind: 'compare', field: { scope: 'software', name: 'name' }, op: '=', value: 'openssl' },
    ],
    [
      'software.arch in ["amd64"]',
      { kind: 'in', field: { scope: 'software', name: 'arch' }, values: ['amd64'] },
    ],
    [
      'cpu.cores in [2, 4, 8]',
      { kind: 'in', field: { scope: 'fact', name: 'cpu.cores' }, values: [2, 4, 8] },
    ],
    ['exists os.family', { kind: 'exists', field: { scope: 'fact', name: 'os.family' } }],
    ['exists software.source', { kind: 'exists', field: { scope: 'software', name: 'source' } }],
    [
      'not exists discovery.domain',
      { kind: 'not', operand: { kind: 'exists', field: { scope: 'discovery', name: 'domain' } } },
    ],
    [
      'a.b = "say \\"hi\\" \\\\ bye"',
      { kind: 'compare', field: { scope: 'fact', name: 'a.b' }, op: '=', value: 'say "hi" \\ bye' },
    ],
    ['a.b = -0', { kind: 'compare', field: { scope: 'fact', name: 'a.b' }, op: '=', value: 0 }],
    [
      'software(name = "openssl" and version >= "3.0")',
      {
        kind: 'software',
        condition: {
          kind: 'and',
          operands: [
            { kind: 'compare', field: { scope: 'software', name: 'name' }, op: '=', value: 'openssl' },
            { kind: 'compare', field: { scope: 'software', name: 'version' }, op: '>=', value: '3.0' },
          ],
        },
      },
    ],
    [
      'SOFTWARE(not (arch = "x" or exists source))',
      {
        kind: 'software',
        condition: {
          kind: 'not',
          operand: {
            kind: 'or',
            operands: [
              { kind: 'compare', field: { scope: 'software', name: 'arch' }, op: '=', value: 'x' },
              { kind: 'exists', field: { scope: 'software', name: 'source' } },
            ],
          },
        },
      },
    ],
  ];
  it.each(cases)('parses %s', (text, expected) => {
    expect(parseRule(text)).toEqual(expected);
  });

  it('gives not precedence over and, and and over or', () => {
    const a = { kind: 'compare', field: { scope: 'fact', name: 'a.a' }, op: '=', value: 1 } as const;
    const b = { kind: 'compare', field: { scope: 'fact', name: 'b.b' }, op: '=', value: 2 } as const;
    const c = { kind: 'compare', field: { scope: 'fact', name: 'c.c' }, op: '=', value: 3 } as const;
    expect(parseRule('a.a = 1 or b.b = 2 and c.c = 3')).toEqual({
      kind: 'or',
      operands: [a, { kind: 'and', operands: [b, c] }],
    });
    expect(parseRule('not a.a = 1 and b.b = 2')).toEqual({
      kind: 'and',
      operands: [{ kind: 'not', operand: a }, b],
    });
    expect(parseRule('(a.a = 1 or b.b = 2) and c.c = 3')).toEqual({
      kind: 'and',
      operands: [{ kind: 'or', operands: [a, b] }, c],
    });
    expect(parseRule('a.a = 1 and b.b = 2 and c.c = 3')).toEqual({ kind: 'and', operands: [a, b, c] });
    expect(parseRule('(a.a = 1 and b.b = 2) and c.c = 3')).toEqual({
      kind: 'and',
      operands: [{ kind: 'and', operands: [a, b] }, c],
    });
    expect(parseRule('not not ((a.a = 1))')).toEqual({ kind: 'not', operand: { kind: 'not', operand: a } });
  });

  it('reads keywords in any case, field names as written', () => {
    const lower = parseRule(
      'not os.family = "linux" and exists cpu.cores or cpu.cores in [1] or os.x = true',
    );
    const upper = parseRule(
      'NOT os.family = "linux" AnD EXISTS cpu.cores Or cpu.cores IN [1] OR os.x = TRUE',
    );
    expect(upper).toEqual(lower);
    expect(parseRule('OS.Family = "x"')).toEqual({
      kind: 'compare',
      field: { scope: 'fact', name: 'OS.Family' },
      op: '=',
      value: 'x',
    });
  });

  it('accepts whitespace of every kind, or none, between tokens', () => {
    expect(parseRule('\t(os.family="linux")\r\n')).toEqual(linux);
    expect(parseRule('cpu.cores in[1,2]')).toEqual(parseRule('cpu.cores in [ 1 , 2 ]'));
  });

  it('formats to canonical text', () => {
    expect(formatRule(parseRule('NOT  (a.b=1 OR c.d~"x*")AND software( name="x" )'))).toBe(
      'not (a.b = 1 or c.d ~ "x*") and software(name = "x")',
    );
    expect(formatRule(parseRule('a.b = 0.000001 or a.b = 100000000000000000000000'))).toBe(
      'a.b = 0.000001 or a.b = 100000000000000000000000',
    );
    expect(formatRule(parseRule('a.b = "q\\"b\\\\"'))).toBe('a.b = "q\\"b\\\\"');
  });
});

describe('collection rule parser: errors say what and where', () => {
  const cases: [string, number, RegExp][] = [
    ['client.hostname = ', 18, /^expected a value after "=" at column 19, found the end of the rule$/],
    ['client.hostname = )', 18, /^expected a value after "=" at column 19, found "\)"$/],
    ['client.foo = "x"', 0, /^unknown field "client.foo" at column 1: the client fields are id, hostname/],
    ['discovery.mac = "x"', 0, /unknown field "discovery.mac"/],
    ['software.publisher = "x"', 0, /unknown field "software.publisher"/],
    ['Client.hostname = "x"', 0, /case-sensitive: write client.hostname/],
    ['client.hostname.x = "x"', 0, /unknown field "client.hostname.x"/],
    ['hostname = "x"', 0, /unknown field "hostname" at column 1: did you mean client.hostname\?/],
    ['os = "x"', 0, /unknown field "os"/],
    ['and = 1', 0, /expected a field, found the keyword "and"/],
    ['client.hostname = 3', 18, /client.hostname holds text at column 19: write the value in quotes, "3"/],
    ['client.lastSeenMinutes > "5"', 25, /client.lastSeenMinutes holds a number/],
    ['client.state = true', 15, /holds text, not true or false/],
    ['os.virtual < true', 13, /true and false can only be compared with "=" or "!="/],
    ['os.family ~ 3', 12, /"~" needs a glob pattern in quotes/],
    ['discovery.address != "x"', 18, /discovery.address cannot be compared with "!="/],
    ['discovery.address < "x"', 18, /cannot be compared with "<"/],
    ['a.b in [1, "x"]', 11, /all values in a list must be of one type/],
    ['a.b in []', 8, /expected a value after "\["/],
    ['a.b in [1,]', 10, /expected a value after ","/],
    ['a.b in [1 2]', 10, /expected "," or "\]" in the list/],
    ['a.b in 1', 7, /expected "\[" after "in"/],
    ['a.b not in [1]', 4, /"not" cannot follow a field at column 5: write not a.b/],
    ['a.b', 3, /expected an operator .* after a.b at column 4, found the end of the rule/],
    ['a.b == 1', 5, /expected a value after "="/],
    ['a.b ! 1', 4, /expected "!=" at column 5: write "not" to negate/],
    ['a.b = 1 a.c = 2', 8, /expected "and", "or" or the end of the rule at column 9, found "a.c"/],
    ['(a.b = 1', 8, /expected "\)" at column 9 to close the "\(" at column 1/],
    ['a.b = 1)', 7, /unexpected "\)" at column 8: there is no "\(" to close/],
    ['a.b = "abc', 6, /this string has no closing quote/],
    ['a.b = "a\\nb"', 8, /unknown escape in a string/],
    ['a.b = 1.2.3', 9, /unexpected "\." after the number 1.2 at column 10: quote version strings/],
    ['a.b = 1.', 8, /expected a digit after "\."/],
    ['a.b = 12abc', 8, /unexpected "a" after the number 12/],
    ['a. = 1', 2, /expected a letter after "\." in a field name/],
    ['a.b = @', 6, /unexpected character "@"/],
    ['a.b = 1 and', 11, /expected a field, "not", "exists" or "\(" at column 12, found the end of the rule/],
    ['', 0, /found the end of the rule/],
    ['exists', 6, /expected a field after "exists"/],
    ['exists 1', 7, /expected a field after "exists"/],
    ['software', 8, /expected "\(" after "software" at column 9, found the end of the rule/],
    ['software = "x"', 9, /expected "\(" after "software"/],
    [
      'software(software.name = "x")',
      9,
      /inside software\(\.\.\.\) name the column alone at column 10: name/,
    ],
    ['software(software(name = "x"))', 9, /software\(\.\.\.\) cannot be nested/],
    ['software(os.family = "x")', 9, /unknown software column "os.family"/],
    ['software(name = 1)', 16, /software.name holds text/],
    ['software()', 9, /expected a software column/],
    ['a.b = 1 and\n  c.d = ', 20, /expected a value after "=" at line 2, column 9/],
  ];
  it.each(cases)('refuses %j at offset %i', (text, position, message) => {
    const error = parseError(text);
    expect(error.code).toBe('ERR_COLLECTION_RULE');
    expect(error.position).toBe(position);
    expect(error.message).toMatch(message);
  });

  it('is a StewardError with a stable code and HTTP status 400', () => {
    const error = parseError('client.hostname =');
    expect(error).toBeInstanceOf(StewardError);
    expect(error.name).toBe('RuleSyntaxError');
    expect(error.status).toBe(400);
    expect(error.retryable).toBe(false);
  });

  it('refuses a fact name past 128 characters', () => {
    const name = `a.${'b'.repeat(127)}`;
    expect(parseError(`${name} = 1`).message).toMatch(/a field name is longer than 128 characters/);
    expect(parseRule(`${name.slice(0, 128)} = 1`)).toMatchObject({ field: { name: name.slice(0, 128) } });
  });
});

describe('collection rule parser: C6 limits are checked before parsing', () => {
  const comparison = 'a.b = 1';
  const join = (count: number, item: string, separator: string): string =>
    Array.from({ length: count }, () => item).join(separator);

  it('C6 refuses a rule longer than 4096 characters without reading it', () => {
    const error = parseError(`@${' '.repeat(RULE_LIMITS.maxTextLength)}`);
    expect(error.message).toMatch(/a rule may be at most 4096 characters long \(this one has 4097\)/);
    expect(error.position).toBe(4096);
    const huge = '('.repeat(10_000_000);
    const started = performance.now();
    expect(parseError(huge).message).toMatch(/at most 4096 characters/);
    expect(performance.now() - started).toBeLessThan(50);
    const exactly = join(4, `a.b = "${'x'.repeat(1013)}"`, ' or ');
    expect(exactly).toHaveLength(4096);
    expect(() => parseRule(exactly)).not.toThrow();
  });

  it('C6 refuses more than 64 comparisons, even before a syntax error earlier in the rule', () => {
    expect(() => parseRule(join(64, comparison, ' or '))).not.toThrow();
    const error = parseError(join(65, comparison, ' or '));
    expect(error.message).toMatch(/a rule may hold at most 64 comparisons/);
    expect(error.position).toBe(64 * (comparison.length + 4) + 4);
    expect(parseError(`) ${join(65, 'exists a.b', ' ')}`).message).toMatch(/at most 64 comparisons/);
    expect(parseError(`) ${join(65, 'a.b in [1]', ' ')}`).message).toMatch(/at most 64 comparisons/);
  });

  it('C6 refuses nesting deeper than 16 parentheses, even when they are never closed', () => {
    expect(() => parseRule(`${'('.repeat(16)}${comparison}${')'.repeat(16)}`)).not.toThrow();
    const error = parseError(`${'('.repeat(17)}${comparison}${')'.repeat(17)}`);
    expect(error.message).toMatch(/a rule may nest at most 16 parentheses deep/);
    expect(error.position).toBe(16);
    expect(parseError(`) ${'('.repeat(17)}`).message).toMatch(/at most 16 parentheses/);
    expect(parseError(`${'('.repeat(15)}software(${'('.repeat(1)}name = "x"))`).message).toMatch(
      /at most 16/,
    );
    // Closed groups do not add up: 2 x 16 in a row is fine.
    const group = `${'('.repeat(16)}${comparison}${')'.repeat(16)}`;
    expect(() => parseRule(`${group} and ${group}`)).not.toThrow();
  });

  it('C6 refuses an in-list of more than 256 values', () => {
    expect(() => parseRule(`a.b in [${join(256, '1', ',')}]`)).not.toThrow();
    const error = parseError(`a.b in [${join(257, '1', ',')}]`);
    expect(error.message).toMatch(/a list may hold at most 256 values/);
    expect(parseError(`) a.b in [${join(300, '"x"', ',')}`).message).toMatch(/at most 256 values/);
  });

  it('C6 refuses a string literal longer than 1024 characters as soon as it is read', () => {
    expect(() => parseRule(`a.b = "${'x'.repeat(1024)}"`)).not.toThrow();
    expect(() => parseRule(`a.b = "${'\\"'.repeat(1024)}"`)).not.toThrow();
    const error = parseError(`) = "${'x'.repeat(1025)}"`);
    expect(error.message).toMatch(/a string is longer than 1024 characters at column 5/);
    expect(error.position).toBe(4);
  });

  it('C6 refuses a number literal longer than 32 characters', () => {
    expect(() => parseRule(`a.b = ${'9'.repeat(32)}`)).not.toThrow();
    expect(parseError(`a.b = ${'9'.repeat(33)}`).message).toMatch(/a number is longer than 32 characters/);
  });
});

describe('collection rule documentation', () => {
  const doc = readFileSync(new URL('../../docs/collection-rules.md', import.meta.url), 'utf8');

  /** The rule lines of the fenced blocks in one section of docs/collection-rules.md. */
  function rulesIn(section: string): string[] {
    const body = doc.split(/^## /m).find((part) => part.replace(/^# /, '').startsWith(section)) ?? '';
    const blocks = [...body.matchAll(/```text\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
    return blocks
      .flatMap((block) => block.split('\n'))
      .map((line) => line.replace(/\s+--.*$/, '').trim())
      .filter((line) => line !== '' && !line.startsWith('--'));
  }

  it('every example in docs/collection-rules.md parses and is already in canonical form', () => {
    const examples = [...rulesIn('Examples'), ...rulesIn('Fields'), ...rulesIn('Collection rules')];
    expect(examples.length).toBeGreaterThan(10);
    for (const example of examples) {
      expect(formatRule(parseRule(example)), example).toBe(example);
    }
  });

  it('every error message shown in docs/collection-rules.md is one the parser gives', () => {
    const shown = rulesIn('Errors');
    const rules = [
      'client.hostname = ',
      'client.serial = "x"',
      'client.hostname = 3',
      'discovery.address != "x"',
      'software(software.name = "x")',
      Array.from({ length: 65 }, () => 'a.b = 1').join(' or '),
    ];
    expect(rules.map((rule) => parseError(rule).message)).toEqual(shown);
  });
});
