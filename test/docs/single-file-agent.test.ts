import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** `npm run build:agent` (built by the test set-up) gives one file that runs with plain node. */
describe('single-file agent', () => {
  const bundle = resolve(import.meta.dirname, '../../dist/steward-agent.cjs');

  it('is one CommonJS file with the agent commands and none of the server', () => {
    expect(existsSync(bundle)).toBe(true);
    const text = readFileSync(bundle, 'utf8');
    expect(text).not.toMatch(/require\("fastify"\)|require\("kysely"\)|@electric-sql\/pglite/);
    const help = execFileSync(process.execPath, [bundle, 'agent', '--help'], { encoding: 'utf8', cwd: '/' });
    expect(help).toContain('enroll');
    expect(help).toContain('run');
  });

  it('answers errors with the command-line contract', () => {
    let stderr = '';
    try {
      execFileSync(
        process.execPath,
        [bundle, 'agent', 'run', '--data', '/nonexistent/steward-agent', '--once'],
        {
          encoding: 'utf8',
          cwd: '/',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    } catch (error) {
      stderr = String((error as { stderr?: string }).stderr);
    }
    expect(stderr).toMatch(/^error ERR_[A-Z_]+: /m);
  });
});
