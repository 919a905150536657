import { content } from './content.js';
import { fanOut } from './fan-out.js';
import { idleAgent } from './idle-agent.js';
import { ingest } from './ingest.js';
import { policyPoll } from './policy-poll.js';
import { scaleOut } from './scale-out.js';
import { scale } from './scale.js';
import type { Scenario } from './scenario.js';

/** Every scenario, in the order `npm run bench` runs them (one heavy scenario at a time). */
export const scenarios: readonly Scenario[] = [policyPoll, fanOut, ingest, content, scale, idleAgent];

/**
 * Scenarios run only when named (`npm run bench -- scale-out`): not in the default or quick set,
 * because they need the Debian PostgreSQL binaries and several minutes (docs/performance.md).
 */
export const namedOnlyScenarios: readonly Scenario[] = [scaleOut];
