// Builds the steward command into dist/ with esbuild. Dependencies stay external for the server build;
// `--agent` builds the self-contained single-file agent (docs/agent.md).
import { build } from 'esbuild';

const agentOnly = process.argv.includes('--agent');

if (!agentOnly) {
  await build({
    // Split into chunks beside steward.mjs (same folder, so import.meta.url paths hold): commands
    // that need little, like `steward agent run`, load only their own modules (src/cli/main.ts).
    entryPoints: { steward: 'src/cli/main.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'steward-[hash]',
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
