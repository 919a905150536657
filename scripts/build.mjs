// Builds the steward command into dist/ with esbuild. Dependencies stay external for the server build;
// `--agent` builds the self-contained single-file agent (docs/agent.md).
import { build } from 'esbuild';

const agentOnly = process.argv.includes('--agent');

if (!agentOnly) {
  await build({
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/steward.mjs',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  });
}
if (agentOnly || process.argv.includes('--all')) {
  await build({
    entryPoints: ['src/agent/standalone.ts'],
    outfile: 'dist/steward-agent.cjs',
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: false,
    logLevel: 'warning',
  });
}
