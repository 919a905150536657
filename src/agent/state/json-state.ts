import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { z } from 'zod';
import { writeFileAtomic } from '../../platform/atomic-file.js';

/**
 * Small JSON state files, written atomically (a crash leaves the old or the new version) and
 * validated when read: a corrupt file is treated as missing rather than trusted.
 */
export async function readState<T extends z.ZodType>(
  path: string,
  schema: T,
): Promise<z.output<T> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeState(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(value)}\n`, 0o600);
}
