import { execFileSync } from 'node:child_process';

/**
 * Builds dist/ once before the tests, so that end-to-end tests run the same `steward` command an
 * administrator runs. `npm test` builds first as well; this keeps `vitest run <file>` honest.
 */
export default function setup(): void {
  if (process.env['STEWARD_TEST_SKIP_BUILD'] === '1') return;
  execFileSync(process.execPath, ['scripts/build.mjs', '--all'], { stdio: 'inherit' });
}
