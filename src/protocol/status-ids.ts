/**
 * Status message ids, in the style of SMS 2003's Advanced Client messages (docs/agent.md lists
 * them). Each id maps to a severity and, for deployment messages, to the deployment state it moves
 * the client to in the site's summaries.
 */
export type DeploymentState = 'received' | 'downloading' | 'running' | 'succeeded' | 'failed' | 'timed-out';

export interface StatusDefinition {
  readonly id: number;
  readonly name: string;
  readonly severity: 'info' | 'warning' | 'error';
  readonly state: DeploymentState | null;
  readonly text: string;
}

const definitions = [
  {
    id: 10002,
    name: 'policy-received',
    severity: 'info',
    state: 'received',
    text: 'The deployment was received',
  },
  {
    id: 10050,
    name: 'download-started',
    severity: 'info',
    state: 'downloading',
    text: 'Content download started',
  },
  {
    id: 10051,
    name: 'download-completed',
    severity: 'info',
    state: 'downloading',
    text: 'Content downloaded and verified',
  },
  { id: 10052, name: 'download-failed', severity: 'error', state: 'failed', text: 'Content download failed' },
  {
    id: 10053,
    name: 'hash-mismatch',
    severity: 'error',
    state: 'failed',
    text: 'Content did not match its signed manifest (C5)',
  },
  {
    id: 10054,
    name: 'cache-full',
    severity: 'error',
    state: 'failed',
    text: 'The content cache has no room for the package',
  },
  { id: 10005, name: 'program-started', severity: 'info', state: 'running', text: 'The program started' },
  {
    id: 10009,
    name: 'program-succeeded',
    severity: 'info',
    state: 'succeeded',
    text: 'The program completed successfully',
  },
  { id: 10006, name: 'program-failed', severity: 'error', state: 'failed', text: 'The program failed' },
  {
    id: 10070,
    name: 'program-timed-out',
    severity: 'error',
    state: 'timed-out',
    text: 'The program exceeded its time limit',
  },
  {
    id: 10071,
    name: 'program-not-started',
    severity: 'error',
    state: 'failed',
    text: 'The program could not be started',
  },
  {
    id: 10019,
    name: 'deployment-expired',
    severity: 'warning',
    state: null,
    text: 'The deployment expired before it ran',
  },
  {
    id: 10021,
    name: 'rerun-skipped',
    severity: 'info',
    state: null,
    text: 'The rerun rule says the program does not run again',
  },
  {
    id: 11001,
    name: 'root-refused',
    severity: 'error',
    state: null,
    text: 'A root document or rotation was refused (C1)',
  },
  {
    id: 11002,
    name: 'mp-certificate-refused',
    severity: 'error',
    state: null,
    text: 'A management point certificate was refused (C2)',
  },
  {
    id: 11003,
    name: 'assignments-refused',
    severity: 'error',
    state: null,
    text: 'A policy assignment list was refused (C3)',
  },
  {
    id: 11004,
    name: 'policy-body-refused',
    severity: 'error',
    state: 'failed',
    text: 'A policy body was refused (C4)',
  },
  {
    id: 11005,
    name: 'manifest-refused',
    severity: 'error',
    state: 'failed',
    text: 'A content manifest was refused (C5)',
  },
  {
    id: 11006,
    name: 'root-first-use',
    severity: 'warning',
    state: null,
    text: 'The root was trusted on first use (C1)',
  },
  {
    id: 11010,
    name: 'root-rotated',
    severity: 'info',
    state: null,
    text: 'The client followed a root rotation (C1)',
  },
  {
    id: 11020,
    name: 'directory-entry-rejected',
    severity: 'warning',
    state: null,
    text: 'A directory entry was ignored: its writer is not the system it names (S4), or it does not verify',
  },
] as const satisfies readonly StatusDefinition[];

export type StatusName = (typeof definitions)[number]['name'];

export const statusDefinitions: readonly StatusDefinition[] = definitions;

const byName = new Map<string, StatusDefinition>(definitions.map((d) => [d.name, d]));
const byId = new Map<number, StatusDefinition>(definitions.map((d) => [d.id, d]));

export function statusByName(name: StatusName): StatusDefinition {
  const definition = byName.get(name);
  if (definition === undefined) throw new RangeError(`unknown status ${name}`);
  return definition;
}

export function statusById(id: number): StatusDefinition | undefined {
  return byId.get(id);
}
