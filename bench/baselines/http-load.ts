/**
 * A closed-loop HTTP load generator on node:http: `connections` keep-alive connections, each
 * sending the next request when the last answer is read, for a fixed time. The fallback when wrk
 * is not installed. Run as its own process: `node --import tsx http-load.ts JSON_OPTIONS`; prints
 * one JSON line with the result.
 */
import { Agent, request } from 'node:http';
import { quantile } from '../harness/stats.js';

export interface LoadResult {
  requests: number;
  seconds: number;
  bytes: number;
  requestsPerSecond: number;
  bytesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  badStatus: number;
  errors: number;
  tool: string;
}

interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  headers: Record<string, string>;
}

async function run(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const latencies: number[] = [];
  let bytes = 0;
  let badStatus = 0;
  let errors = 0;
  const started = performance.now();
  const endAt = started + options.seconds * 1000;
  const one = () =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      const req = request(options.url, { agent, headers: options.headers }, (response) => {
        if ((response.statusCode ?? 0) >= 400) badStatus += 1;
        response.on('data', (chunk: Buffer) => (bytes += chunk.byteLength));
        response.on('end', () => {
          latencies.push(performance.now() - sent);
          resolve();
        });
        response.on('error', () => {
          errors += 1;
          resolve();
        });
      });
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end();
    });
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (performance.now() < endAt) await one();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return {
    requests: latencies.length,
    seconds,
    bytes,
    requestsPerSecond: latencies.length / seconds,
    bytesPerSecond: bytes / seconds,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    badStatus,
    errors,
    tool: 'node:http load generator',
  };
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
  const result = await run(options);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
