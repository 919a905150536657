import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createOutput, runCommand, table, UsageError } from '../../protocol/command-line.js';
import { rotateMpKey } from '../../site/trust-rotation/rotate-mp-key.js';
import { rotateRoot } from '../../site/trust-rotation/rotate-root.js';

/**
 * `steward trust rotate-root` and `steward trust rotate-mp` (DESIGN.md section 9; docs/operations.md,
 * "Rotate the root" and "Rotate the management point key"). Both work on the data folder of a stopped
 * central site that holds its root keys, and take the folder's lock: a running site server refuses
 * them with ERR_DATA_FOLDER_LOCKED.
 */
export function registerTrustRotationCommands(trust: Command): void {
  trust
    .command('rotate-root')
    .description(
      'new root keys and root version N+1 signed by the old and the new keys; the site and MP certificates ' +
        'and the TLS CA endorsement signed again (central site, stopped, root keys in keys/)',
    )
    .requiredOption('--data <dir>', "the central site's data folder")
    .option('--keys <n>', 'how many keys the new root has (default: as many as now)')
    .option('--threshold <n>', 'how many of them must sign (default: the threshold in force)')
    .option('--allow-child-sites', 'rotate although child sites hold certificates signed by the old keys')
    .option('--json', 'print one JSON document')
    .action(
      (options: {
        data: string;
        keys?: string;
        threshold?: string;
        allowChildSites?: boolean;
        json?: boolean;
      }) =>
        runCommand(async () => {
          const out = createOutput(options.json === true);
          const keys = options.keys === undefined ? undefined : count('--keys', options.keys);
          const threshold =
            options.threshold === undefined ? undefined : count('--threshold', options.threshold);
          if (keys !== undefined && threshold !== undefined && threshold > keys) {
            throw new UsageError('--threshold cannot be more than --keys');
          }
          const result = await rotateRoot(resolve(options.data), {
            ...(keys === undefined ? {} : { keys }),
            ...(threshold === undefined ? {} : { threshold }),
            allowChildSites: options.allowChildSites === true,
            actor: 'steward trust rotate-root',
            now: new Date(),
          });
          out.result(result, () => {
            if (result.interruptedRotation !== null) {
              out.line(
                result.interruptedRotation === 'finished'
                  ? 'An interrupted rotation was finished first: its key files were put in place.'
                  : 'An interrupted rotation that had stored nothing was cleared first: its unused key files were removed.',
              );
            }
            out.line(
              `Site ${result.site}: root version ${result.previousVersion} → ${result.version} ` +
                `(${result.threshold} of ${result.keys.length} keys must sign), valid until ${result.expiresAt}.`,
            );
            out.line(
              table([['NEW ROOT KEY', 'FILE'], ...result.keys.map((key) => [key.fingerprint, key.file])]),
            );
            out.line(
              `Signed again by the new root: site certificate ${result.siteCertificate.siteCode} ` +
                `(serial ${result.siteCertificate.serial}), ` +
                `${result.mpCertificates.length} management point certificate(s), ` +
                `${result.tlsCaEndorsements.length} TLS CA endorsement(s).`,
            );
            for (const key of result.retiredKeys) {
              out.line(
                `Retired root key ${key.fingerprint}: moved to ${key.file}; keep it offline or destroy it.`,
              );
            }
            if (result.childSites.length > 0) {
              out.line(
                `Child sites ${result.childSites.join(', ')} still hold certificates signed by the retired keys ` +
                  '(docs/operations.md).',
              );
            }
            out.line('Start the site: agents follow the new root at their next policy poll.');
          });
        }),
    );

  trust
    .command('rotate-mp')
    .description(
      "a new key for the site's management point, certified by the root; its earlier certificates revoked " +
        '(central site, stopped, root keys in keys/)',
    )
    .requiredOption('--data <dir>', "the central site's data folder")
    .option('--json', 'print one JSON document')
    .action((options: { data: string; json?: boolean }) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const result = await rotateMpKey(resolve(options.data), {
          actor: 'steward trust rotate-mp',
          now: new Date(),
        });
        out.result(result, () => {
          out.line(
            `Management point ${result.mpName}: key ${result.previousKey.fingerprint} → ${result.key.fingerprint}, ` +
              `certificate serial ${result.certificate.serial} valid until ${result.certificate.expiresAt}.`,
          );
          out.line(
            `Revoked certificate serial(s): ${result.revokedSerials.join(', ') || '-'}. ` +
              'Start the site: agents take the new key from the trust bundle at their next poll.',
          );
        });
      }),
    );
}

function count(option: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(value) || value < 1 || value > 16) {
    throw new UsageError(`${option} is a whole number from 1 to 16`);
  }
  return value;
}
