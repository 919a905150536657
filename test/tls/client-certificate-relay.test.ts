/**
 * The central site's side of client certificates relayed from a joined site (docs/tls.md, "Agents
 * of joined sites"), in process over a real database and a real hierarchy CA: a `client-tls-request`
 * that came over the child's link (S3) is certified only when the agent itself signed it for this
 * TLS key (S1, checked again here at the time the child accepted it), for the site that sent it or
 * one below it, and the client is not revoked here; the certificate goes back down on the child's
 * link. Anything else is skipped and nothing is certified or queued.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultHierarchyConfig } from '../../src/site/hierarchy/hierarchy-config.js';
import { createLink } from '../../src/site/hierarchy/links/link-store.js';
import { receiveSiteMessage } from '../../src/site/hierarchy/links/receiver.js';
import { saveSite } from '../../src/site/hierarchy/site-trust.js';
import { saveRootDocument } from '../../src/site/hierarchy/trust-store.js';
import { clientTlsRequestApplier } from '../../src/site/hierarchy/tls/client-certificate-flows.js';
import type { SiteCertificateIssuer } from '../../src/site/tls/site-certificate-issuer.js';
import {
  createRootDocument,
  describeCertificate,
  isIssuedBy,
  issueSiteCertificate,
  randomId,
  randomToken,
  signDocument,
  SigningKey,
  TlsKey,
} from '../../src/trust/index.js';
import { certifyClientPublicKey, createHierarchyCa, type HierarchyCa } from '../../src/trust/tls/index.js';
import { openTestPglite, type OpenedTestDatabase } from '../support/backends.js';

const now = new Date();
const later = new Date(now.getTime() + 3 * 365 * 24 * 3600 * 1000);
const rootKey = SigningKey.generate();
const childKey = SigningKey.generate();
const clientKey = SigningKey.generate();
const otherClientKey = SigningKey.generate();

let database: OpenedTestDatabase;
let ca: HierarchyCa;
let sequence = 0;
let certified = 0;

function siteCertificate(code: string, key: SigningKey, parent: string | null) {
  return issueSiteCertificate(
    {
      version: 1,
      siteCode: code,
      siteName: `Site ${code}`,
      siteKey: key.publicRecord(),
      parentSiteCode: parent,
      siteType: parent === null ? 'central' : 'primary',
      issuedAt: now.toISOString(),
      expiresAt: later.toISOString(),
    },
    [rootKey],
  );
}

beforeEach(async () => {
  database = await openTestPglite();
  const db = database.db;
  ca = await createHierarchyCa({ rootSigners: [rootKey], siteCode: 'CEN', now });
  await saveRootDocument(
    db,
    createRootDocument({ version: 1, keys: [rootKey], threshold: 1, issuedAt: now, expiresAt: later }, [
      rootKey,
    ]),
    1,
    later.toISOString(),
  );
  await db
    .insertInto('sites')
    .values({
      code: 'CEN',
      name: 'Central',
      site_type: 'central',
      parent_code: null,
      site_key_id: SigningKey.generate().keyId,
      certificate: null,
      is_local: true,
      updated_at: now,
    })
    .execute();
  await saveSite(
    db,
    {
      code: 'KID',
      name: 'Kid',
      siteType: 'primary',
      parentCode: 'CEN',
      siteKeyId: childKey.keyId,
      certificate: siteCertificate('KID', childKey, 'CEN').encoded,
    },
    now,
  );
  await createLink(db, { siteCode: 'KID', direction: 'child', siteType: 'primary', url: 'https://kid' }, now);
  sequence = 0;
  certified = 0;
});

afterEach(async () => {
  await database.discard();
});

const issuer: SiteCertificateIssuer = {
  certify: () => Promise.reject(new Error('no site certificates here')),
  certifyClient: async (_db, clientId, key, at) => {
    certified += 1;
    const issued = await certifyClientPublicKey(
      { caCertificatePem: ca.caCertificatePem, caKey: ca.caKey },
      { clientId, publicKey: key.publicKey, validityDays: 30, now: at },
    );
    return issued.certificatePem;
  },
};

/** An agent's signed request for a new TLS key, as its management point received it. */
function agentRequest(signer: SigningKey, siteCode = 'KID', clientId = signer.keyId) {
  const tlsKey = TlsKey.generate();
  const request = signDocument(
    {
      kind: 'tls-client-request',
      version: 1,
      clientId,
      siteCode,
      tlsPublicKey: Buffer.from(tlsKey.publicKeyDer()).toString('base64'),
      nonce: randomToken(16),
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 10 * 60_000).toISOString(),
    },
    [signer],
  );
  return { tlsKey, encoded: request.encoded };
}

async function receive(body: Record<string, unknown>) {
  sequence += 1;
  const message = signDocument(
    {
      kind: 'site-message',
      sequence,
      fromSite: 'KID',
      toSite: 'CEN',
      records: [
        { recordId: `client-tls-request.${randomId().slice(0, 8)}`, type: 'client-tls-request', body },
      ],
      issuedAt: now.toISOString(),
      expiresAt: later.toISOString(),
    },
    [childKey],
  ).encoded;
  return receiveSiteMessage(
    database.db,
    {
      localCode: 'CEN',
      localType: 'central',
      appliers: {
        'client-tls-request': clientTlsRequestApplier({
          code: 'CEN',
          siteType: 'central',
          tlsIssuer: issuer,
          queued: () => undefined,
        }),
      },
      hierarchy: defaultHierarchyConfig,
      log: () => undefined,
    },
    { message },
    new Date(),
  );
}

async function queuedDown(): Promise<{ record_type: string; body: unknown }[]> {
  return database.db
    .selectFrom('site_outbox')
    .select(['record_type', 'body'])
    .where('link_code', '=', 'KID')
    .execute();
}

function requestBody(
  signer: SigningKey,
  overrides: Partial<{
    siteCode: string;
    clientId: string;
    publicKey: string;
    receivedAt: string;
    request: string;
  }> = {},
) {
  const { tlsKey, encoded } = agentRequest(signer);
  return {
    tlsKey,
    body: {
      siteCode: overrides.siteCode ?? 'KID',
      clientId: overrides.clientId ?? signer.keyId,
      clientPublicKey: overrides.publicKey ?? signer.publicRecord().publicKey,
      request: overrides.request ?? encoded,
      receivedAt: overrides.receivedAt ?? now.toISOString(),
    },
  };
}

describe('a client certificate request relayed to the central site', () => {
  it('certifies the TLS key the agent signed for and sends the certificate down the same link', async () => {
    const { tlsKey, body } = requestBody(clientKey);
    expect(await receive(body)).toMatchObject({ status: 'applied', skipped: 0 });
    const queued = await queuedDown();
    expect(queued.map((q) => q.record_type)).toEqual(['client-tls-certificate']);
    const sent = (typeof queued[0]?.body === 'string' ? JSON.parse(queued[0].body) : queued[0]?.body) as {
      siteCode: string;
      clientId: string;
      certificate: string;
    };
    expect(sent.siteCode).toBe('KID');
    expect(sent.clientId).toBe(clientKey.keyId);
    expect(isIssuedBy(sent.certificate, ca.caCertificatePem)).toBe(true);
    const summary = describeCertificate(sent.certificate);
    expect(summary.subject).toBe(`CN=${clientKey.keyId}`);
    expect(summary.publicKeySha256).toBe(tlsKey.publicKeySha256);
  });

  it('S1: skips a request the named client did not sign (another key signed it)', async () => {
    const forged = agentRequest(otherClientKey, 'KID', otherClientKey.keyId).encoded;
    const { body } = requestBody(clientKey, { request: forged });
    expect(await receive(body)).toMatchObject({ status: 'applied', skipped: 1 });
    expect(certified).toBe(0);
    expect(await queuedDown()).toEqual([]);
  });

  it("S1: skips a request presented with another client's key than the one it names", async () => {
    const { body } = requestBody(clientKey, { publicKey: otherClientKey.publicRecord().publicKey });
    expect(await receive(body)).toMatchObject({ skipped: 1 });
    expect(certified).toBe(0);
  });

  it('skips a request for a site that is not the sender or below it', async () => {
    const { encoded } = agentRequest(clientKey, 'OTH');
    const { body } = requestBody(clientKey, { siteCode: 'OTH', request: encoded });
    expect(await receive(body)).toMatchObject({ skipped: 1 });
    expect(certified).toBe(0);
  });

  it('skips a request accepted more than a week ago, or in the future', async () => {
    const old = new Date(now.getTime() - 8 * 24 * 3600 * 1000).toISOString();
    expect(await receive(requestBody(clientKey, { receivedAt: old }).body)).toMatchObject({ skipped: 1 });
    const ahead = new Date(now.getTime() + 3600 * 1000).toISOString();
    expect(await receive(requestBody(clientKey, { receivedAt: ahead }).body)).toMatchObject({ skipped: 1 });
    expect(certified).toBe(0);
  });

  it('skips a request of a client revoked here', async () => {
    await database.db
      .insertInto('clients')
      .values({
        id: clientKey.keyId,
        public_key: clientKey.publicRecord().publicKey,
        site_code: 'KID',
        hostname: 'revoked-agent',
        state: 'revoked',
        mode: 'secure',
        root_source: 'pinned',
        approved_by: null,
        registered_at: now,
        approved_at: null,
        revoked_at: now,
        last_seen_at: null,
      })
      .execute();
    expect(await receive(requestBody(clientKey).body)).toMatchObject({ skipped: 1 });
    expect(certified).toBe(0);
  });
});
