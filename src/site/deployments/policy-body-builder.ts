import { signDocument, type SignedDocument, type SigningKey } from '../../trust/index.js';
import type { ProgramDefinition } from '../packages/package-store.js';

/** How long a signed policy body stays valid; the site re-signs active bodies well before that. */
export const policyBodyValidityMs = 180 * 24 * 3600 * 1000;

export interface DeploymentDefinition {
  id: string;
  policyId: string;
  policyVersion: number;
  packageId: string;
  packageVersion: string;
  manifestHash: string;
  program: ProgramDefinition;
  availableAt: Date;
  mandatoryAt: Date | null;
  expiresAt: Date | null;
  rerun: 'never' | 'always' | 'if-failed' | 'if-succeeded';
}

/** Signs one deployment's instructions with the site key (C4: agents check this signature). */
export function signPolicyBody(
  deployment: DeploymentDefinition,
  context: { siteCode: string; siteKey: SigningKey; contentUrls: readonly string[]; now: Date },
): SignedDocument {
  return signDocument(
    {
      kind: 'policy-body',
      version: deployment.policyVersion,
      policyId: deployment.policyId,
      siteCode: context.siteCode,
      deploymentId: deployment.id,
      package: {
        packageId: deployment.packageId,
        version: deployment.packageVersion,
        manifestHash: deployment.manifestHash,
      },
      program: {
        name: deployment.program.name,
        commandLine: deployment.program.commandLine,
        workingDirectory: deployment.program.workingDirectory,
        environment: deployment.program.environment,
        timeLimitSeconds: deployment.program.timeLimitSeconds,
        elevated: deployment.program.elevated,
        successExitCodes: deployment.program.successExitCodes,
      },
      schedule: {
        availableAt: deployment.availableAt.toISOString(),
        mandatoryAt: deployment.mandatoryAt?.toISOString() ?? null,
        expiresAt: deployment.expiresAt?.toISOString() ?? null,
      },
      rerun: deployment.rerun,
      contentUrls: [...context.contentUrls],
      issuedAt: context.now.toISOString(),
      expiresAt: new Date(context.now.getTime() + policyBodyValidityMs).toISOString(),
    },
    [context.siteKey],
  );
}
