import { noFaults, type FaultPlan } from './faults.js';
import { SimCounters } from './counters.js';
import { agentIdentity } from './identity.js';
import { SimulatedAgent, type SiteUnderTest } from './simulated-agent.js';

export interface FleetOptions {
  readonly seed: number;
  readonly count: number;
  /** First agent index (fleets of one run never share keys). */
  readonly firstIndex?: number;
  readonly faults?: FaultPlan;
  readonly programMs?: number;
  /** Most cycles (and enrolments) in flight at once in this process. */
  readonly maxInFlight?: number;
}

/**
 * Many simulated agents in this process, each with its own key and seeded generator. Agents start
 * with a random delay within the start jitter and then cycle every poll interval with the real
 * agent's ±20% jitter. A cap on cycles in flight keeps one process from opening thousands of
 * sockets at once; a cycle waiting for a slot is late, as an agent on a busy machine would be.
 */
export class Fleet {
  readonly counters = new SimCounters();
  readonly agents: SimulatedAgent[];
  readonly #maxInFlight: number;
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #running = new Set<Promise<void>>();
  #stopped = true;

  constructor(
    readonly site: SiteUnderTest,
    readonly options: FleetOptions,
  ) {
    this.#maxInFlight = options.maxInFlight ?? 256;
    const first = options.firstIndex ?? 0;
    this.agents = Array.from(
      { length: options.count },
      (_, i) =>
        new SimulatedAgent(agentIdentity(options.seed, first + i), site, {
          faults: options.faults ?? noFaults,
          counters: this.counters,
          seed: options.seed,
          programMs: options.programMs ?? 0,
        }),
    );
  }

  /** Registers every agent over the protocol (S1), `maxInFlight` at a time. */
  async enrolAll(onProgress?: (done: number) => void): Promise<void> {
    let done = 0;
    await this.#forEachLimited(async (agent) => {
      await agent.enrol();
      done += 1;
      onProgress?.(done);
    });
  }

  /** Anchors trust for agents already registered in the database (no registration). */
  async adoptAll(): Promise<void> {
    await this.#forEachLimited((agent) => agent.adopt());
  }

  /** Runs one cycle of every agent now (the first cycle sends heartbeat and inventory). */
  async cycleAll(): Promise<void> {
    await this.#forEachLimited((agent) => agent.cycle());
  }

  /** Starts polling: first cycle within `startJitterMs`, then every `pollIntervalMs` ±20%. */
  start(pollIntervalMs: number, startJitterMs: number): void {
    this.#stopped = false;
    for (const agent of this.agents) {
      this.#schedule(agent, agent.random.next() * startJitterMs, pollIntervalMs);
    }
  }

  /** Stops scheduling and waits for the cycles in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#running]);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  #schedule(agent: SimulatedAgent, delayMs: number, pollIntervalMs: number): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const run = this.#limited(() => agent.cycle()).finally(() => {
        this.#running.delete(run);
        this.#schedule(agent, pollIntervalMs * (0.8 + agent.random.next() * 0.4), pollIntervalMs);
      });
      this.#running.add(run);
    }, delayMs);
    this.#timers.add(timer);
  }

  async #forEachLimited(work: (agent: SimulatedAgent) => Promise<void>): Promise<void> {
    const results = await Promise.allSettled(this.agents.map((agent) => this.#limited(() => work(agent))));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) {
      const first: unknown = failed[0]?.reason;
      throw new Error(`${failed.length} of ${this.agents.length} agents failed: ${String(first)}`, {
        cause: first,
      });
    }
  }

  async #limited<T>(work: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so the cap is never exceeded.
    if (this.#inFlight >= this.#maxInFlight)
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#inFlight += 1;
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next === undefined) this.#inFlight -= 1;
      else next();
    }
  }
}
