import type { Command } from 'commander';
import { createOutput, runCommand, table } from '../../protocol/command-line.js';
import { adminClientFor, withAdminOptions, type AdminOptions } from './admin-options.js';

interface Boundary {
  id: string;
  siteCode: string;
  kind: 'subnet' | 'range';
  value: string;
  description: string;
}

/**
 * `steward boundary add|list|remove`: the IP subnets and ranges that map clients to sites
 * (DESIGN.md section 3; docs/spec/server-locator-point.md). `--site` is the site URL as in every
 * admin command; the site a boundary belongs to is `--site-code`.
 */
export function registerBoundaryCommands(program: Command): void {
  const boundary = program
    .command('boundary')
    .description('boundaries: IP subnets and ranges that map clients to sites');

  withAdminOptions(
    boundary
      .command('add')
      .description(
        'add a boundary: a subnet like 192.0.2.0/24 or 2001:db8::/32, or a range like 192.0.2.10-192.0.2.20',
      )
      .argument('<boundary>', 'subnet (address/prefix) or range (first-last)')
      .option('--site-code <code>', 'the site the boundary belongs to (default: the site addressed)')
      .option('--description <text>', 'description', ''),
  ).action((value: string, options: AdminOptions & { siteCode?: string; description: string }) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const created = await (
        await adminClientFor(options)
      ).post<Boundary>('/boundaries', {
        value,
        description: options.description,
        ...(options.siteCode === undefined ? {} : { siteCode: options.siteCode }),
      });
      out.result(created, () =>
        out.line(`Boundary ${created.id}: ${created.kind} ${created.value} -> site ${created.siteCode}`),
      );
    }),
  );

  withAdminOptions(
    boundary
      .command('list')
      .description('list boundaries')
      .option('--site-code <code>', 'only the boundaries of this site'),
  ).action((options: AdminOptions & { siteCode?: string }) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const query = options.siteCode === undefined ? '' : `?siteCode=${encodeURIComponent(options.siteCode)}`;
      const { items } = await (
        await adminClientFor(options)
      ).get<{ items: Boundary[] }>(`/boundaries${query}`);
      out.result(items, () => {
        if (items.length === 0) {
          out.line('No boundaries. Add one with: steward boundary add 192.0.2.0/24');
          return;
        }
        out.line(
          table([
            ['ID', 'SITE', 'KIND', 'BOUNDARY', 'DESCRIPTION'],
            ...items.map((b) => [b.id, b.siteCode, b.kind, b.value, b.description]),
          ]),
        );
      });
    }),
  );

  withAdminOptions(
    boundary
      .command('remove')
      .description('remove a boundary')
      .argument('<id>', 'boundary id (from boundary list)'),
  ).action((id: string, options: AdminOptions) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const { deleted } = await (
        await adminClientFor(options)
      ).request<{ deleted: Boundary }>('DELETE', `/boundaries/${encodeURIComponent(id)}`, undefined);
      out.result(deleted, () =>
        out.line(`Removed boundary ${deleted.id}: ${deleted.value} (site ${deleted.siteCode})`),
      );
    }),
  );
}
