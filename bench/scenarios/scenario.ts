import type { RunContext } from '../harness/context.js';

/** One benchmark scenario of issue 11, runnable alone: `npm run bench -- <name>`. */
export interface Scenario {
  readonly name: string;
  readonly summary: string;
  run(context: RunContext): Promise<void>;
}
