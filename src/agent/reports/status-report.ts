import { statusByName, type StatusName } from '../../protocol/index.js';

/** The body of a status report holding one status message. */
export function statusReport(
  name: StatusName,
  deployment: { deploymentId: string; policyVersion: number } | null,
  at: Date,
  insertionStrings: readonly string[] = [],
  extra: { exitCode?: number | null; outputTail?: string | null } = {},
): Record<string, unknown> {
  return {
    messages: [
      {
        statusId: statusByName(name).id,
        deploymentId: deployment?.deploymentId ?? null,
        policyVersion: deployment?.policyVersion ?? null,
        occurredAt: at.toISOString(),
        insertionStrings: insertionStrings.map((s) => s.slice(0, 1024)).slice(0, 10),
        exitCode: extra.exitCode ?? null,
        outputTail: extra.outputTail ?? null,
      },
    ],
  };
}
