import { resolve } from 'node:path';
import type { Command } from 'commander';
import { directorySettingsOf, withDirectorySession } from '../../directory/index.js';
import { createOutput, runCommand, table, UsageError } from '../../protocol/command-line.js';
import { siteDataLayout } from '../../site/data-folder/layout.js';
import { readSiteConfig, writeSiteConfig, type SiteConfig } from '../../site/data-folder/site-config.js';
import { adminClientFor, withAdminOptions, type AdminOptions } from './admin-options.js';
import { directoryConfig, withConnection, type ConnectionOptions } from './directory-connection.js';

interface GroupGrantView {
  groupDn: string;
  objectClass: string;
  instanceId: string;
  rights: string[];
}

/**
 * `steward directory configure` (the `directory` block of site.json: automatic publishing, directory
 * approval, admin sign-in by directory bind) and `steward directory grant | revoke | grants` (rights
 * of directory groups). docs/directory.md, sections 6 to 8.
 */
export function registerDirectorySiteCommands(directory: Command): void {
  withConnection(directory.command('configure'))
    .description("write the site's directory settings to site.json (the site server reads them at start)")
    .requiredOption('--data <dir>', "the site's data folder")
    .option('--approval <mode>', 'client approval: directory, token or automatic (default: unchanged)')
    .option(
      '--computers-dn <dn>',
      'where directory approval searches machine accounts (default: the base DN)',
    )
    .option('--no-publish', 'do not publish the site’s entries automatically')
    .option('--no-test', 'write the settings without binding to the directory first')
    .action(
      (
        options: ConnectionOptions & {
          data: string;
          approval?: string;
          computersDn?: string;
          publish: boolean;
          test: boolean;
        },
      ) =>
        runCommand(async () => {
          const out = createOutput(options.json === true);
          const approval = options.approval;
          if (approval !== undefined && !['directory', 'token', 'automatic'].includes(approval)) {
            throw new UsageError('--approval is directory, token or automatic');
          }
          const config = directoryConfig(options);
          const layout = siteDataLayout(resolve(options.data));
          const site = await readSiteConfig(layout.config);
          // The bind is tried first, so that a wrong password file is found now, not at the next start.
          const bound = options.test
            ? await withDirectorySession(config, (session) =>
                Promise.resolve({ baseDn: session.baseDn, flavor: session.flavor }),
              )
            : undefined;
          const updated: SiteConfig = {
            ...site,
            ...(approval === undefined ? {} : { approval: approval as SiteConfig['approval'] }),
            directory: {
              ...directorySettingsOf(config),
              ...(options.publish ? {} : { publish: false }),
              ...(options.computersDn === undefined ? {} : { computersDn: options.computersDn }),
            },
          };
          await writeSiteConfig(layout.config, updated);
          out.result(
            { site: site.code, approval: updated.approval, directory: updated.directory, bound },
            () => {
              out.line(`Site ${site.code}: directory ${config.url} written to ${layout.config}`);
              if (bound !== undefined)
                out.line(
                  `  bound as ${config.bindDn ?? 'anonymous'} (${bound.flavor}), base ${bound.baseDn}`,
                );
              out.line(
                `  publish automatically: ${options.publish ? 'yes' : 'no'}; client approval: ${updated.approval}`,
              );
              out.line('Restart the site server (steward site start) for the settings to take effect.');
            },
          );
        }),
    );

  directory
    .command('unconfigure')
    .description('remove the directory settings from site.json (directory approval becomes token)')
    .requiredOption('--data <dir>', "the site's data folder")
    .option('--json', 'print one JSON document')
    .action((options: { data: string; json?: boolean }) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const layout = siteDataLayout(resolve(options.data));
        const { directory: _removed, ...site } = await readSiteConfig(layout.config);
        const updated: SiteConfig = {
          ...site,
          approval: site.approval === 'directory' ? 'token' : site.approval,
        };
        await writeSiteConfig(layout.config, updated);
        out.result({ site: site.code, approval: updated.approval }, () =>
          out.line(
            `Site ${site.code}: no directory; client approval ${updated.approval}. Restart the site server.`,
          ),
        );
      }),
    );

  for (const action of ['grant', 'revoke'] as const) {
    withAdminOptions(
      directory
        .command(action)
        .description(
          action === 'grant'
            ? 'grant Steward rights to a directory group: its members sign in with their directory password'
            : 'revoke rights of a directory group',
        )
        .requiredOption('--group <dn>', 'the group’s DN, e.g. cn=Steward Admins,ou=groups,dc=example,dc=org')
        .requiredOption('--class <class>', 'collection, package, deployment, client or site')
        .option('--instance <id>', 'one instance of the class (default: every instance, *)', '*')
        .requiredOption(
          '--rights <list>',
          'comma-separated: read,modify,delete,create,distribute,deploy,administer',
        ),
    ).action((options: AdminOptions & { group: string; class: string; instance: string; rights: string }) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const { items } = await (
          await adminClientFor(options)
        ).post<{ items: GroupGrantView[] }>(`/directory/group-rights/${action}`, {
          groupDn: options.group,
          objectClass: options.class,
          instanceId: options.instance,
          rights: options.rights
            .split(',')
            .map((right) => right.trim())
            .filter((right) => right !== ''),
        });
        out.result(items, () => printGrants(out, items));
      }),
    );
  }

  withAdminOptions(directory.command('grants').description('list the rights of directory groups')).action(
    (options: AdminOptions) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const { items } = await (
          await adminClientFor(options)
        ).get<{ items: GroupGrantView[] }>('/directory/group-rights');
        out.result(items, () => printGrants(out, items));
      }),
  );
}

function printGrants(out: { line(text: string): void }, items: readonly GroupGrantView[]): void {
  out.line(
    table([
      ['GROUP', 'CLASS', 'INSTANCE', 'RIGHTS'],
      ...items.map((g) => [g.groupDn, g.objectClass, g.instanceId, g.rights.join(',')]),
    ]),
  );
}
