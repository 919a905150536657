/**
 * Shared pieces of the fuzz tests (test/security/fuzz-*.test.ts): a fixed seed, a tally of the
 * cases run (printed, and recorded in docs/security.md), and JSON mutations of valid values.
 */
import fc from 'fast-check';

/** One seed for every fuzz property, so a failure replays exactly (fast-check prints the path). */
export const fuzzSeed = 20_260_105;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Cases run per property name in this test file. */
export class FuzzTally {
  readonly #counts = new Map<string, number>();

  /** fc.assert with the fixed seed, counting the runs. */
  assert<Ts>(name: string, property: fc.IProperty<Ts>, numRuns: number): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + numRuns);
    fc.assert(property, { seed: fuzzSeed, numRuns });
  }

  /** The same for an asynchronous property. */
  async assertAsync<Ts>(name: string, property: fc.IAsyncProperty<Ts>, numRuns: number): Promise<void> {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + numRuns);
    await fc.assert(property, { seed: fuzzSeed, numRuns });
  }

  /** Extra cases counted by hand (loops over a fixed list). */
  add(name: string, cases: number): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + cases);
  }

  get total(): number {
    return [...this.#counts.values()].reduce((sum, n) => sum + n, 0);
  }

  summary(title: string): string {
    const lines = [...this.#counts.entries()].map(([name, n]) => `  ${String(n).padStart(6)}  ${name}`);
    return `${title}: ${this.total} cases (seed ${fuzzSeed})\n${lines.join('\n')}`;
  }
}

/** Every path to a value inside `value` (object keys and array indexes), the root included. */
export function pathsOf(value: Json, path: (string | number)[] = []): (string | number)[][] {
  const paths = [path];
  if (Array.isArray(value)) value.forEach((item, index) => paths.push(...pathsOf(item, [...path, index])));
  else if (value !== null && typeof value === 'object')
    for (const [key, item] of Object.entries(value)) paths.push(...pathsOf(item, [...path, key]));
  return paths;
}

/** A copy of `value` with the value at `path` replaced (or deleted when `replacement` is undefined). */
export function withPath(
  value: Json,
  path: readonly (string | number)[],
  replacement: Json | undefined,
): Json {
  if (path.length === 0) return replacement ?? null;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    const index = Number(head);
    if (rest.length === 0 && replacement === undefined) copy.splice(index, 1);
    else copy[index] = withPath(copy[index] ?? null, rest, replacement);
    return copy;
  }
  if (value !== null && typeof value === 'object') {
    const key = String(head);
    const copy: { [key: string]: Json } = {};
    // defineProperty: a key named __proto__ stays an own key, as JSON.parse makes it.
    for (const [k, v] of Object.entries(value)) if (k !== key) define(copy, k, v);
    if (rest.length > 0 || replacement !== undefined) {
      const current = Object.prototype.hasOwnProperty.call(value, key) ? (value[key] ?? null) : null;
      define(copy, key, withPath(current, rest, replacement));
    }
    return copy;
  }
  return value;
}

function define(target: { [key: string]: Json }, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Arbitrary JSON, including the values that trip parsers: huge numbers, odd strings, deep nesting. */
export const hostileJson: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>,
  fc.constantFrom<Json>(
    '',
    '\u0000',
    '__proto__',
    'constructor',
    '\ud800',
    'x'.repeat(70_000),
    -0,
    1e308,
    -1e308,
    2 ** 53 + 2,
    0.5,
    -1,
    [],
    {},
    JSON.parse('{"__proto__":{"polluted":true}}') as Json,
    { constructor: { prototype: { polluted: true } } },
  ),
  fc.integer({ min: 1, max: 200 }).map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as Json),
);

/**
 * Mutations of a valid JSON value: replace any value with hostile JSON, delete any key or item,
 * or add an unknown key to any object.
 */
export function mutated(valid: Json): fc.Arbitrary<Json> {
  const paths = pathsOf(valid);
  const inner = paths.filter((p) => p.length > 0);
  const objects = paths.filter((p) => {
    let node: Json = valid;
    for (const step of p) node = (node as Record<string, Json>)[step] ?? null;
    return node !== null && typeof node === 'object' && !Array.isArray(node);
  });
  const choices: fc.Arbitrary<Json>[] = [
    fc.tuple(fc.constantFrom(...paths), hostileJson).map(([path, json]) => withPath(valid, path, json)),
  ];
  if (inner.length > 0)
    choices.push(fc.constantFrom(...inner).map((path) => withPath(valid, path, undefined)));
  if (objects.length > 0)
    choices.push(
      fc
        .tuple(fc.constantFrom(...objects), fc.string({ minLength: 1, maxLength: 12 }), hostileJson)
        .map(([path, key, json]) => withPath(valid, [...path, key], json)),
    );
  return fc.oneof(...choices);
}
