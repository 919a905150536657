import { verifyRegistration, type Envelope } from '../../trust/index.js';
import type { SiteDb } from '../../site/database/site-db.js';
import { inTransaction } from '../../site/database/site-db.js';
import { getClient, registerClient } from '../../site/clients/client-store.js';
import { collectionsOfClient } from '../../site/collections/collection-store.js';
import { deploymentsOfCollections, refreshTargeted } from '../../site/deployments/deployment-store.js';
import { consumeEnrolmentToken } from '../../site/clients/enrolment-tokens.js';
import type { RegistrationAnswer } from '../../protocol/index.js';
import { WrongSiteError } from './mp-errors.js';

export interface RegistrationPolicy {
  siteCode: string;
  /** Approve every client that proves possession of its key (the audit flags this). */
  approveAutomatically: boolean;
  /**
   * Directory approval: the DN of the machine account that vouches for a host name, or undefined.
   * A failure leaves the client pending (src/site/directory/machine-accounts.ts).
   */
  vouch?: (hostname: string) => Promise<string | undefined>;
}

/**
 * S1: a registration is a `client-registration` signed by the key it registers (proof of
 * possession). A valid enrolment token approves the client at once; otherwise it waits for an
 * administrator unless the site approves automatically. Registering again never lifts a revocation.
 */
export async function handleRegistration(
  db: SiteDb,
  policy: RegistrationPolicy,
  envelope: Envelope | string,
  now: Date,
): Promise<RegistrationAnswer> {
  const verified = verifyRegistration(envelope, now);
  const payload = verified.payload;
  if (payload.siteCode !== policy.siteCode) {
    throw new WrongSiteError(`this management point serves site ${policy.siteCode}, not ${payload.siteCode}`);
  }
  // Asked before the transaction: a directory search holds no database connection.
  const vouchedBy =
    policy.approveAutomatically || policy.vouch === undefined
      ? undefined
      : await policy.vouch(payload.hostname).catch(() => undefined);
  return inTransaction(db, async (trx) => {
    let approvedBy: string | null = policy.approveAutomatically ? 'automatic approval' : null;
    if (approvedBy === null && payload.enrolmentToken !== null) {
      if (await consumeEnrolmentToken(trx, payload.enrolmentToken, now)) approvedBy = 'enrolment token';
    }
    if (approvedBy === null && vouchedBy !== undefined) {
      // A machine account vouches for a name, once: a name another client already holds is left for
      // an administrator to decide (docs/directory.md).
      if (!(await hostnameHeldByAnother(trx, payload.hostname, verified.clientId))) {
        approvedBy = `directory: ${vouchedBy}`;
      }
    }
    const before = await getClient(trx, verified.clientId);
    const client = await registerClient(trx, {
      id: verified.clientId,
      publicKey: payload.clientKey.publicKey,
      siteCode: payload.siteCode,
      hostname: payload.hostname,
      mode: payload.mode,
      rootSource: payload.rootSource,
      registeredAt: now,
      state: approvedBy === null ? 'pending' : 'approved',
      approvedBy,
    });
    if (before !== undefined && before.state === 'pending' && client.state === 'approved') {
      // A known pending client approved by a token may already be a member of collections: the
      // deployments it now receives count it as targeted.
      const collections = await collectionsOfClient(trx, client.id);
      for (const deploymentId of await deploymentsOfCollections(trx, collections)) {
        await refreshTargeted(trx, deploymentId);
      }
    }
    return { clientId: client.id, state: client.state };
  });
}

async function hostnameHeldByAnother(db: SiteDb, hostname: string, clientId: string): Promise<boolean> {
  const other = await db
    .selectFrom('clients')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['hostname']), '=', hostname.toLowerCase()))
    .where('id', '<>', clientId)
    .where('state', '<>', 'revoked')
    .executeTakeFirst();
  return other !== undefined;
}
