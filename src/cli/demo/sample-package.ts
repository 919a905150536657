import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The demo's package: a script that leaves a marker file in the agent's data folder. */
export async function writeSamplePackage(dir: string): Promise<void> {
  await mkdir(join(dir, 'docs'), { recursive: true });
  await writeFile(
    join(dir, 'install.sh'),
    [
      '#!/bin/sh',
      '# Installed by Steward: leaves a marker file that the demo checks.',
      'set -e',
      'echo "hello from Steward, installed $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)" > "$STEWARD_AGENT_DIR/hello-steward.txt"',
      'echo "marker written"',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'docs', 'README.txt'),
    'A sample package: every file of it is hashed and signed.\n',
  );
}
