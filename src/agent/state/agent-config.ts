import { z } from 'zod';
import { directorySettingsSchema } from '../../directory/lookup/directory-settings.js';
import { NotEnrolledError } from '../agent-errors.js';
import { readState, writeState } from './json-state.js';

/** agent.json: written by `steward agent enroll`, read by `steward agent run`. */
export const agentConfigSchema = z.strictObject({
  format: z.literal('steward-agent/v1'),
  clientId: z.string().regex(/^[0-9a-f]{64}$/),
  siteCode: z.string().regex(/^[A-Z0-9]{3}$/),
  managementPoints: z.array(z.url()).min(1).max(16),
  mode: z.enum(['secure', 'directory-only', 'trust-on-first-use']),
  rootSource: z.enum(['pinned', 'directory', 'first-use']),
  rootPin: z.string().nullable(),
  keyProtection: z.enum(['secret-file', 'passphrase']),
  hostname: z.string(),
  enrolledAt: z.string(),
  /** Enrolled with `--directory`: where the site's entries are read (directory-only mode refreshes from it). */
  directory: directorySettingsSchema.optional(),
});

export type AgentConfig = z.output<typeof agentConfigSchema>;

export async function readAgentConfig(path: string): Promise<AgentConfig> {
  const config = await readState(path, agentConfigSchema);
  if (config === undefined)
    throw new NotEnrolledError(`this agent is not enrolled (no valid ${path}); run "steward agent enroll"`);
  return config;
}

export async function writeAgentConfig(path: string, config: AgentConfig): Promise<void> {
  await writeState(path, config);
}
