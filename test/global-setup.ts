import { execFileSync } from 'node:child_process';

/**
 * Builds dist/ and the web console (console/dist) once before the tests, so that end-to-end tests
 * run the same `steward` command, and see the same console, an administrator does. `npm test`
 * builds first as well; this keeps `vitest run <file>` honest.
 */
export default function setup(): void {
  if (process.env['STEWARD_TEST_SKIP_BUILD'] === '1') return;
  execFileSync(process.execPath, ['scripts/build.mjs', '--all'], { stdio: 'inherit' });
  // Vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', 'console'], {
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
}
