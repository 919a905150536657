import type { Command } from 'commander';
import { createOutput, runCommand } from '../../protocol/command-line.js';
import { RemoteError } from '../cli-errors.js';
import { adminClientFor, withAdminOptions, type AdminOptions } from './admin-options.js';

type Verdict =
  | { ok: true; entries: number; head: string }
  | { ok: false; entries: number; brokenAt: number; reason: string };

export function registerAuditLogCommands(program: Command): void {
  const auditLog = program
    .command('audit-log')
    .description('the hash-chained log of every administrative change');
  withAdminOptions(
    auditLog.command('verify').description('verify the hash chain; prints the head hash to record elsewhere'),
  ).action((options: AdminOptions) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const verdict = await (await adminClientFor(options)).get<Verdict>('/audit/verify');
      out.result(verdict, () => {
        if (verdict.ok) out.line(`The audit log is intact: ${verdict.entries} entries, head ${verdict.head}`);
      });
      if (!verdict.ok) {
        throw new RemoteError(
          'ERR_AUDIT_CHAIN_BROKEN',
          `the audit log chain breaks at entry ${verdict.brokenAt}: ${verdict.reason}`,
          500,
          false,
        );
      }
    }),
  );
}
