import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createOutput, runCommand, UsageError } from '../../protocol/command-line.js';
import { securityModes, switchSecurityMode, type SecurityMode } from '../../site/security-mode/index.js';

/**
 * `steward site security-mode --data DIR advanced|standard` (docs/audit.md, "Security modes"):
 * standard to advanced is switched (site stopped; applies at the next start, written to the audit
 * log); advanced to standard is refused with ERR_SECURITY_MODE_DOWNGRADE, as in SMS.
 */
export function registerSecurityModeCommand(site: Command): void {
  site
    .command('security-mode')
    .description(
      'switch the site from standard to advanced security (the site must be stopped; back to standard is refused)',
    )
    .argument('<mode>', 'advanced or standard')
    .requiredOption('--data <dir>', "the site's data folder")
    .option('--json', 'print one JSON document')
    .action((mode: string, options: { data: string; json?: boolean }) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        if (!(securityModes as readonly string[]).includes(mode)) {
          throw new UsageError('the security mode is advanced or standard');
        }
        const result = await switchSecurityMode(resolve(options.data), mode as SecurityMode, {
          actor: 'steward site security-mode',
          now: new Date(),
        });
        out.result(result, () =>
          out.line(
            result.changed
              ? `Site ${result.site}: security mode ${result.from} → ${result.to}. It applies when the site server starts.` +
                  (result.revokedSharedCredentials === 0
                    ? ''
                    : ' The shared site-system credential is revoked: reinstall the site systems installed with it, each with a token of its own (steward audit lists them).')
              : `Site ${result.site} already uses ${result.to} security; nothing changed.`,
          ),
        );
      }),
    );
}
