import type { Command } from 'commander';
import { createOutput, runCommand, table } from '../../protocol/command-line.js';
import { adminClientFor, withAdminOptions, type AdminOptions } from './admin-options.js';
import { registerTrustRotationCommands } from './trust-rotation.js';

interface TrustView {
  root: { version: number; threshold: number; keys: { fingerprint: string }[]; expiresAt: string }[];
  certificates: {
    kind: string;
    subject: string;
    serial: number;
    keyFingerprint: string;
    expires_at: string;
    revoked_at: string | null;
  }[];
}

export function registerTrustCommands(program: Command): void {
  const trust = program.command('trust').description('the root, site and management point keys');
  withAdminOptions(
    trust.command('show').description('root chain and certificates (fingerprints, expiry)'),
  ).action((options: AdminOptions) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const view = await (await adminClientFor(options)).get<TrustView>('/trust');
      out.result(view, () => {
        out.line('Root chain:');
        out.line(
          table([
            ['VERSION', 'THRESHOLD', 'KEYS', 'EXPIRES'],
            ...view.root.map((r) => [
              String(r.version),
              String(r.threshold),
              r.keys.map((k) => k.fingerprint).join(' '),
              r.expiresAt,
            ]),
          ]),
        );
        out.line('Certificates:');
        out.line(
          table([
            ['KIND', 'SUBJECT', 'SERIAL', 'KEY', 'EXPIRES', 'REVOKED'],
            ...view.certificates.map((c) => [
              c.kind,
              c.subject,
              String(c.serial),
              c.keyFingerprint,
              c.expires_at,
              c.revoked_at ?? '-',
            ]),
          ]),
        );
      });
    }),
  );
  registerTrustRotationCommands(trust);
}
