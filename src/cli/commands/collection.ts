import type { Command } from 'commander';
import { UsageError } from '../cli-errors.js';
import { createOutput, runCommand, table } from '../../protocol/command-line.js';
import { adminClientFor, withAdminOptions, type AdminOptions } from './admin-options.js';

interface Collection {
  id: string;
  name: string;
  rule: string | null;
  memberCount: number;
}

export function registerCollectionCommands(program: Command): void {
  const collection = program.command('collection').description('collections of clients');

  withAdminOptions(
    collection
      .command('create')
      .description('create a collection by rule (docs/collection-rules.md) or by client ids')
      .requiredOption('--name <text>', 'collection name')
      .option('--rule <expression>', 'membership rule, like: os.family = "linux" and memory.totalMb >= 2048')
      .option('--client <id...>', 'client ids for direct membership')
      .option('--description <text>', 'description', ''),
  ).action(
    (options: AdminOptions & { name: string; rule?: string; client?: string[]; description: string }) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        if (options.rule === undefined && (options.client === undefined || options.client.length === 0)) {
          throw new UsageError('give --rule EXPRESSION or --client ID ...');
        }
        const created = await (
          await adminClientFor(options)
        ).post<Collection>('/collections', {
          name: options.name,
          description: options.description,
          rule: options.rule ?? null,
          clientIds: options.client ?? [],
        });
        out.result(created, () =>
          out.line(`Collection ${created.id} "${created.name}": ${created.memberCount} members`),
        );
      }),
  );

  withAdminOptions(collection.command('list').description('list collections')).action(
    (options: AdminOptions) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const { items } = await (await adminClientFor(options)).get<{ items: Collection[] }>('/collections');
        out.result(items, () =>
          out.line(
            table([
              ['ID', 'NAME', 'MEMBERS', 'RULE'],
              ...items.map((c) => [c.id, c.name, String(c.memberCount), c.rule ?? '(direct)']),
            ]),
          ),
        );
      }),
  );
}
