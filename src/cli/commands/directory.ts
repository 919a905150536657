import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  checkDirectoryAcls,
  directorySchema,
  defaultSchemaArc,
  DirectoryAclError,
  lookupManagementPoints,
  lookupSiteForAddresses,
  publishSiteEntries,
  unpublishSiteEntries,
} from '../../directory/index.js';
import { siteEntriesFromDataFolder } from '../../directory/publish/site-data.js';
import { createOutput, runCommand, table, UsageError } from '../../protocol/command-line.js';
import { directoryConfig, withConnection, type ConnectionOptions } from './directory-connection.js';
import { registerDirectorySiteCommands } from './directory-site.js';

/** `steward directory schema | publish | unpublish | check | lookup` (DESIGN.md section 4; docs/directory.md). */
export function registerDirectoryCommands(program: Command): void {
  const directory = program.command('directory').description('the directory (LDAP) as a trusted source');

  directory
    .command('schema')
    .description('print the schema extension as LDIF for the directory administrator')
    .requiredOption('--format <format>', 'openldap (cn=config) or ad (Active Directory, Samba AD)')
    .option('--arc <oid>', `the OID arc to use instead of ${defaultSchemaArc}`)
    .option('--schema-dn <dn>', 'ad only: the schema partition DN instead of the ldifde placeholder')
    .option('--json', 'print one JSON document')
    .action((options: { format: string; arc?: string; schemaDn?: string; json?: boolean }) =>
      runCommand(async () => {
        if (options.format !== 'openldap' && options.format !== 'ad')
          throw new UsageError('--format is openldap or ad');
        const ldif = directorySchema(options.format, {
          ...(options.arc === undefined ? {} : { arc: options.arc }),
          ...(options.schemaDn === undefined ? {} : { schemaDn: options.schemaDn }),
        });
        const out = createOutput(options.json === true);
        out.result({ format: options.format, arc: options.arc ?? defaultSchemaArc, ldif }, () =>
          process.stdout.write(ldif),
        );
        await Promise.resolve();
      }),
    );

  withConnection(directory.command('publish'))
    .description("publish a site's entries, binding as the site system's own account")
    .requiredOption(
      '--data <dir>',
      "the site's data folder (the site server must be stopped, or use PostgreSQL)",
    )
    .option('--mp <name>', 'publish only this management point (a separate MP binding as its own account)')
    .action((options: ConnectionOptions & { data: string; mp?: string }) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const config = directoryConfig(options);
        const site = await siteEntriesFromDataFolder(
          resolve(options.data),
          options.mp === undefined ? {} : { managementPoint: options.mp },
        );
        const result = await publishSiteEntries(config, site.entries);
        out.result({ siteCode: site.siteCode, ...result }, () => {
          out.line(`Site ${site.siteCode} published in ${result.container} as ${result.writer}`);
          for (const [label, dns] of [
            ['created', result.created],
            ['updated', result.updated],
            ['unchanged', result.unchanged],
            ['removed', result.removed],
          ] as const) {
            for (const dn of dns) out.line(`  ${label.padEnd(9)} ${dn}`);
          }
        });
      }),
    );

  withConnection(directory.command('unpublish'))
    .description('remove every entry this account wrote (a decommissioned site system)')
    .option('--site-code <code>', "only this site's entries")
    .action((options: ConnectionOptions & { siteCode?: string }) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const result = await unpublishSiteEntries(
          directoryConfig(options),
          options.siteCode === undefined ? {} : { siteCode: options.siteCode },
        );
        out.result(result, () => {
          out.line(
            `Removed ${result.removed.length} entr${result.removed.length === 1 ? 'y' : 'ies'} written by ${result.writer}`,
          );
          for (const dn of result.removed) out.line(`  ${dn}`);
        });
      }),
    );

  withConnection(directory.command('check'))
    .description('verify by trying that the System Management container’s access rules are minimal')
    .option('--other-bind-dn <dn>', 'a second site system: it must not change the first one’s entries')
    .option('--other-password-file <file>', 'the password file of --other-bind-dn')
    .option('--user-bind-dn <dn>', 'an ordinary account: it must read and write nothing')
    .option('--user-password-file <file>', 'the password file of --user-bind-dn')
    .option('--no-anonymous', 'do not try an anonymous session')
    .option('--group-dn <dn>', 'the site systems group named in the OpenLDAP fix text')
    .action(
      (
        options: ConnectionOptions & {
          otherBindDn?: string;
          otherPasswordFile?: string;
          userBindDn?: string;
          userPasswordFile?: string;
          anonymous: boolean;
          groupDn?: string;
        },
      ) =>
        runCommand(async () => {
          const out = createOutput(options.json === true);
          const account = (bindDn: string | undefined, file: string | undefined, flag: string) => {
            if (bindDn === undefined) return undefined;
            if (file === undefined) throw new UsageError(`--${flag}-bind-dn needs --${flag}-password-file`);
            return { bindDn, passwordFile: resolve(file) };
          };
          const other = account(options.otherBindDn, options.otherPasswordFile, 'other');
          const user = account(options.userBindDn, options.userPasswordFile, 'user');
          const report = await checkDirectoryAcls(directoryConfig(options), {
            ...(other === undefined ? {} : { otherSiteSystem: other }),
            ...(user === undefined ? {} : { ordinaryUser: user }),
            anonymous: options.anonymous,
            ...(options.groupDn === undefined ? {} : { siteSystemsGroupDn: options.groupDn }),
          });
          out.result(report, () => {
            out.line(`${report.container} (${report.flavor}) checked as ${report.account}`);
            out.line(
              table([
                ['RESULT', 'CHECK', 'EVIDENCE'],
                ...report.findings.map((f) => [f.result.toUpperCase(), f.check, f.evidence]),
              ]),
            );
            const fixes = [...new Set(report.findings.filter((f) => f.result !== 'pass').map((f) => f.fix))];
            for (const fix of fixes) out.line(`\nTo fix:\n${fix}`);
          });
          const failed = report.findings.filter((f) => f.result === 'fail').length;
          if (failed > 0) {
            throw new DirectoryAclError(
              `${failed} check${failed === 1 ? '' : 's'} failed; the report says what to change.`,
            );
          }
        }),
    );

  withConnection(directory.command('lookup'))
    .description('what an agent finds: the site by address, or the management points of a site (S4 applied)')
    .option('--address <ip...>', 'client addresses to locate by boundary')
    .option('--site-code <code>', 'the site whose management points to list')
    .action((options: ConnectionOptions & { address?: string[]; siteCode?: string }) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const config = directoryConfig(options);
        if ((options.address === undefined) === (options.siteCode === undefined)) {
          throw new UsageError('give --address or --site-code');
        }
        const result =
          options.address !== undefined
            ? await lookupSiteForAddresses(config, options.address)
            : await lookupManagementPoints(config, options.siteCode ?? '');
        out.result(result, () => {
          if ('sites' in result) {
            out.line(
              table([
                ['SITE', 'ASSIGNED', 'BOUNDARY', 'WRITER'],
                ...result.sites.map((s) => [s.siteCode, s.assignedSiteCode, s.matchedBoundary, s.writer.dn]),
              ]),
            );
          } else {
            out.line(
              table([
                ['MP', 'SITE', 'URLS', 'WRITER'],
                ...result.managementPoints.map((m) => [m.mpName, m.siteCode, m.urls.join(' '), m.writer.dn]),
              ]),
            );
          }
          for (const rejected of result.rejected) out.line(`ignored ${rejected.dn}: ${rejected.reason}`);
        });
      }),
    );

  registerDirectorySiteCommands(directory);
}
