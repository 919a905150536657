import type { Command } from 'commander';
import { UsageError } from '../cli-errors.js';
import { createOutput, runCommand, table } from '../../protocol/command-line.js';
import { adminClientFor, withAdminOptions, type AdminOptions } from './admin-options.js';

interface Client {
  id: string;
  hostname: string;
  state: string;
  mode: string;
  rootSource: string;
  lastSeenAt: string | null;
}

export function registerClientCommands(program: Command): void {
  const client = program.command('client').description('managed clients');

  withAdminOptions(
    client
      .command('list')
      .description('list clients')
      .option('--search <text>', 'host name or id contains')
      .option('--state <state>', 'pending, approved or revoked')
      .option('--limit <n>', 'at most this many', '100'),
  ).action((options: AdminOptions & { search?: string; state?: string; limit: string }) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const query = new URLSearchParams({ limit: options.limit });
      if (options.search !== undefined) query.set('search', options.search);
      if (options.state !== undefined) query.set('state', options.state);
      const { items } = await (
        await adminClientFor(options)
      ).get<{ items: Client[] }>(`/clients?${query.toString()}`);
      out.result(items, () =>
        out.line(
          table([
            ['ID', 'HOSTNAME', 'STATE', 'MODE', 'ROOT', 'LAST SEEN'],
            ...items.map((c) => [
              c.id.slice(0, 16),
              c.hostname,
              c.state,
              c.mode,
              c.rootSource,
              c.lastSeenAt ?? '-',
            ]),
          ]),
        ),
      );
    }),
  );

  for (const action of ['approve', 'revoke'] as const) {
    withAdminOptions(client.command(`${action} <id>`).description(`${action} a client`)).action(
      (id: string, options: AdminOptions) =>
        runCommand(async () => {
          const out = createOutput(options.json === true);
          const api = await adminClientFor(options);
          const fullId = await resolveClientId(api, id);
          const updated = await api.post<Client>(`/clients/${fullId}/${action}`, {});
          out.result(updated, () =>
            out.line(`Client ${updated.id} (${updated.hostname}) is ${updated.state}`),
          );
        }),
    );
  }
}

/** Accepts a full client id or a unique prefix of at least 8 hex digits, as `client list` shows. */
async function resolveClientId(api: Awaited<ReturnType<typeof adminClientFor>>, id: string): Promise<string> {
  if (/^[0-9a-f]{64}$/.test(id)) return id;
  const { items } = await api.get<{ items: Client[] }>(`/clients?search=${encodeURIComponent(id)}&limit=2`);
  const matches = items.filter((c) => c.id.startsWith(id));
  if (matches.length !== 1 || id.length < 8) {
    throw new UsageError(`"${id}" does not name exactly one client; give the full id or a longer prefix`);
  }
  return matches[0]?.id ?? id;
}
