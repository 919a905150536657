import { inTransaction, type SiteDb } from '../database/site-db.js';
import { getPackageVersion } from '../packages/package-store.js';
import { InvalidRequestError, NotFoundError } from '../site-errors.js';
import { requireDeployment, type DeploymentRecord, type PolicySigningContext } from './deployment-store.js';
import { policyBodyValidityMs, signPolicyBody } from './policy-body-builder.js';

export interface DeploymentChanges {
  state?: 'active' | 'disabled';
  mandatoryAt?: Date | null;
  expiresAt?: Date | null;
  rerun?: DeploymentRecord['rerun'];
}

/**
 * Changes a deployment (DESIGN.md section 5: a change produces a new signed policy body version).
 * Agents see the new version through their assignment lists; the rerun rule decides whether a
 * program runs again for it. Disabling removes the deployment from every assignment list.
 */
export async function changeDeployment(
  db: SiteDb,
  id: string,
  changes: DeploymentChanges,
  signing: PolicySigningContext,
  now: Date,
): Promise<DeploymentRecord> {
  return inTransaction(db, async (trx) => {
    const current = await requireDeployment(trx, id);
    const next = {
      state: changes.state ?? current.state,
      mandatoryAt: changes.mandatoryAt === undefined ? current.mandatoryAt : changes.mandatoryAt,
      expiresAt: changes.expiresAt === undefined ? current.expiresAt : changes.expiresAt,
      rerun: changes.rerun ?? current.rerun,
    };
    if (next.mandatoryAt !== null && next.mandatoryAt < current.availableAt) {
      throw new InvalidRequestError('mandatoryAt must not be before availableAt');
    }
    if (next.expiresAt !== null && next.expiresAt <= current.availableAt) {
      throw new InvalidRequestError('expiresAt must be after availableAt');
    }
    await resign(trx, current, next, signing, now);
    return requireDeployment(trx, id);
  });
}

/** Re-signs active policy bodies whose signature expires within a quarter of their validity. */
export async function renewExpiringPolicyBodies(
  db: SiteDb,
  signing: PolicySigningContext,
  now: Date,
): Promise<number> {
  const due = await db
    .selectFrom('deployments as d')
    .innerJoin('policy_bodies as b', (join) =>
      join.onRef('b.policy_id', '=', 'd.policy_id').onRef('b.version', '=', 'd.policy_version'),
    )
    .select(['d.id', 'b.created_at'])
    .where('d.state', '=', 'active')
    .where('b.created_at', '<', new Date(now.getTime() - policyBodyValidityMs * 0.75))
    .execute();
  for (const row of due) {
    await inTransaction(db, async (trx) => {
      const current = await requireDeployment(trx, row.id);
      await resign(trx, current, current, signing, now);
    });
  }
  return due.length;
}

async function resign(
  db: SiteDb,
  current: DeploymentRecord,
  next: Pick<DeploymentRecord, 'state' | 'mandatoryAt' | 'expiresAt' | 'rerun'>,
  signing: PolicySigningContext,
  now: Date,
): Promise<void> {
  const pkg = await getPackageVersion(db, current.packageId, current.packageVersion);
  const program = pkg.programs.find((p) => p.name === current.programName);
  if (program === undefined) throw new NotFoundError(`program ${current.programName} no longer exists`);
  const version = current.policyVersion + 1;
  const body = signPolicyBody(
    {
      id: current.id,
      policyId: current.policyId,
      policyVersion: version,
      packageId: pkg.packageId,
      packageVersion: pkg.version,
      manifestHash: pkg.manifestHash,
      program,
      availableAt: current.availableAt,
      mandatoryAt: next.mandatoryAt,
      expiresAt: next.expiresAt,
      rerun: next.rerun,
    },
    { ...signing, now },
  );
  await db
    .insertInto('policy_bodies')
    .values({
      policy_id: current.policyId,
      version,
      deployment_id: current.id,
      envelope: body.encoded,
      hash: body.hash,
      created_at: now,
    })
    .execute();
  await db
    .updateTable('deployments')
    .set({
      state: next.state,
      mandatory_at: next.mandatoryAt,
      expires_at: next.expiresAt,
      rerun: next.rerun,
      policy_version: version,
      updated_at: now,
    })
    .where('id', '=', current.id)
    .execute();
}
