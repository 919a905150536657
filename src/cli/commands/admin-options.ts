import type { Command } from 'commander';
import { AdminClient, resolveAdminTarget } from '../admin-client.js';

export interface AdminOptions {
  data?: string;
  site?: string;
  caFile?: string;
  json?: boolean;
}

/** Adds the options every admin command shares: where the site is, and --json. */
export function withAdminOptions(command: Command): Command {
  return command
    .option('--data <dir>', 'the data folder of a site running on this machine')
    .option('--site <url>', 'the site URL (credentials from STEWARD_TOKEN)')
    .option('--ca-file <file>', 'the CA certificate an https site is checked against (env STEWARD_CA_FILE)')
    .option('--json', 'print one JSON document');
}

export async function adminClientFor(options: AdminOptions): Promise<AdminClient> {
  return new AdminClient(await resolveAdminTarget(options));
}
