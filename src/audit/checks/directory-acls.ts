import { checkDirectoryAcls, directoryConfigOf, type AclReport } from '../../directory/index.js';
import { isStewardError } from '../../trust/index.js';
import { fail, pass, warn, type SecurityCheck } from '../security-check.js';

/**
 * The checks of `steward directory check` that need accounts the site does not hold: the audit
 * binds as the site's own account only, so it cannot try a second site system. That finding is
 * reported as evidence, not as a warning (run `steward directory check` with a second account for it).
 */
const needsOtherAccounts = new Set(['other-site-system-cannot-change']);

/**
 * The directory schema is extended and its access rules are minimal (S4; docs/directory.md,
 * section 5): when the site has a directory, `steward directory check` runs here, bound as the
 * site's own account (it creates a probe entry and deletes it). Without a directory, it warns.
 */
export const directoryAcls: SecurityCheck = {
  id: 'directory-schema-acls',
  practice: 'Extend the directory schema and keep the System Management container’s access rules minimal.',
  run: async ({ config }) => {
    const directory = config.directory;
    if (directory === undefined) {
      return warn(
        'No directory is used: agents cannot find their site, management points and root in a trusted source.',
        'Extend the directory schema, set the access rules, and configure the site with ' +
          '"steward directory configure" (docs/directory.md, sections 1 to 6).',
      );
    }
    let report: AclReport;
    try {
      report = await checkDirectoryAcls(directoryConfigOf(directory));
    } catch (error) {
      const reason = isStewardError(error) ? `${error.code}: ${error.message}` : String(error);
      return fail(
        `The directory check could not run against ${directory.url} as ${directory.bindDn ?? 'anonymous'}: ${reason}`,
        'Check the site’s directory settings (steward directory configure) and that the directory answers.',
      );
    }
    const counted = report.findings.filter((f) => !needsOtherAccounts.has(f.check));
    const skipped = report.findings.filter((f) => needsOtherAccounts.has(f.check) && f.result !== 'pass');
    const failed = counted.filter((f) => f.result === 'fail');
    const warned = counted.filter((f) => f.result === 'warn');
    const evidence =
      `${report.container} (${report.flavor}) at ${report.directory}, checked as ${report.account}: ` +
      `${counted.length - failed.length - warned.length} of ${counted.length} checks passed` +
      (failed.length === 0 ? '' : `; failed: ${failed.map((f) => `${f.check} (${f.evidence})`).join('; ')}`) +
      (warned.length === 0
        ? ''
        : `; warnings: ${warned.map((f) => `${f.check} (${f.evidence})`).join('; ')}`) +
      (skipped.length === 0
        ? '.'
        : `. Not tried here: ${skipped.map((f) => f.check).join(', ')} (run "steward directory check" with --other-bind-dn).`);
    const fixes = [...new Set([...failed, ...warned].map((f) => f.fix).filter((fix) => fix !== ''))];
    if (failed.length > 0) return fail(evidence, fixes.join('\n'));
    if (warned.length > 0) return warn(evidence, fixes.join('\n'));
    return pass(evidence);
  },
};
