import { z } from 'zod';
import {
  randomId,
  verifyJoinProof,
  verifySiteCertificate,
  WrongRecipientError,
  type SigningKey,
} from '../../../trust/index.js';
import type { SiteDb } from '../../database/site-db.js';
import { inTransaction } from '../../database/site-db.js';
import { appendAudit } from '../../../admin/audit-log/index.js';
import type { SiteHierarchyConfig } from '../hierarchy-config.js';
import { JoinRefusedError, JoinTokenInvalidError, UnknownSiteError } from '../hierarchy-errors.js';
import type { SiteType } from '../hierarchy-schema.js';
import { createLink, parentLink } from '../links/link-store.js';
import { enqueue } from '../links/outbox.js';
import type { ApplyContext, RecordApplier } from '../links/receiver.js';
import { readRecord, record, type RecordBody } from '../records.js';
import { childLinkToward, isInSubtreeOf, saveSite, siteRoot } from '../site-trust.js';
import { rootChain } from '../trust-store.js';
import { initialSyncRecords } from '../flows/down-records.js';
import type { HierarchyEvents } from '../flows/hierarchy-events.js';
import { certifyChild } from './certify.js';
import {
  signIdentity,
  signJoinResult,
  verifyJoinRequest,
  type JoinRequestBody,
  type JoinResultBody,
} from './join-documents.js';
import { consumeJoinToken } from './join-token.js';
import type { SiteCertificateIssuer } from '../../tls/site-certificate-issuer.js';
import { hierarchyCaBundle } from '../../tls/site-certificate-store.js';

/** The parent's side of joining (docs/spec/hierarchy.md, "Joining"). */
export interface JoinSite {
  db: SiteDb;
  code: string;
  name: string;
  siteType: SiteType;
  url: string;
  siteKey: SigningKey;
  /** Root keys (the central site only; empty when they are offline). */
  rootKeys: readonly SigningKey[];
  hierarchy: SiteHierarchyConfig;
  /** The distribution point children pull content from. */
  contentUrl: string;
  events: HierarchyEvents;
  /** The hierarchy CA's issuer of site server certificates (the central site only). */
  tlsIssuer?: SiteCertificateIssuer | undefined;
}

export const helloRequestSchema = z.strictObject({
  nonce: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/),
  childCode: z.string().regex(/^[A-Z0-9]{3}$/),
});

export interface JoinAnswer {
  joinId: string;
  state: 'pending' | 'certified' | 'refused';
  /** The signed join result (certified or refused), once there is one. */
  result: string | null;
}

/** Certificates a child needs beside its own: this site's and its ancestors'. */
async function lineageCertificates(db: SiteDb): Promise<string[]> {
  const rows = await db
    .selectFrom('certificates')
    .select(['subject', 'envelope', 'serial'])
    .where('kind', '=', 'site-certificate')
    .where('revoked_at', 'is', null)
    .orderBy('subject')
    .orderBy('serial', 'desc')
    .execute();
  const newest = new Map<string, string>();
  for (const row of rows) if (!newest.has(row.subject)) newest.set(row.subject, row.envelope);
  return [...newest.values()];
}

async function ownCertificate(db: SiteDb, code: string): Promise<string> {
  const row = await db.selectFrom('sites').select('certificate').where('code', '=', code).executeTakeFirst();
  if (row?.certificate === null || row?.certificate === undefined) {
    throw new JoinRefusedError(`site ${code} holds no site certificate yet`);
  }
  return row.certificate;
}

/** POST /hierarchy/v1/hello: this site's identity, signed over the caller's nonce. */
export async function helloAnswer(
  site: JoinSite,
  request: z.output<typeof helloRequestSchema>,
  now: Date,
): Promise<{ identity: string }> {
  if (request.childCode === site.code)
    throw new JoinRefusedError(`site code ${site.code} is this site's own`);
  const certificate = await ownCertificate(site.db, site.code);
  const identity = signIdentity(
    {
      nonce: request.nonce,
      siteCode: site.code,
      siteName: site.name,
      siteType: site.siteType,
      url: site.url,
      siteCertificate: certificate,
      rootChain: await rootChain(site.db),
      certificates: (await lineageCertificates(site.db)).filter((c) => c !== certificate),
    },
    site.siteKey,
    request.childCode,
    now,
  );
  return { identity };
}

/**
 * POST /hierarchy/v1/join. In order: proof of possession of the key to certify (the request is
 * signed by it), addressed to this site, a site type this site may take (a secondary site takes no
 * children), a free site code, then the join token: issued here, for this site type, unused,
 * unexpired, and a join proof that binds it to these very keys (ERR_JOIN_TOKEN_INVALID,
 * ERR_JOIN_TOKEN_USED, ERR_JOIN_TOKEN_EXPIRED). Without a token only with automatic key exchange on.
 * The central site certifies at once; any other parent relays the request up and answers pending.
 */
export async function acceptJoin(site: JoinSite, requestText: string, now: Date): Promise<JoinAnswer> {
  const { body, toSite } = verifyJoinRequest(requestText, now);
  return registerJoin(
    site,
    { requestText, body, toSite },
    body.tokenId === null ? 'automatic' : 'join-token',
    now,
  );
}

/** How a join was authorised: a join token, an administrator who compared fingerprints, or nothing. */
export type JoinAuthorisation = 'join-token' | 'manual' | 'automatic';

/**
 * Records a verified join request and has the keys certified (the checks after proof of
 * possession, in acceptJoin's order). A manual key exchange skips the token: an administrator
 * confirmed the child's key fingerprint out of band instead.
 */
export async function registerJoin(
  site: JoinSite,
  request: { requestText: string; body: JoinRequestBody; toSite: string },
  authorisation: JoinAuthorisation,
  now: Date,
): Promise<JoinAnswer> {
  const { requestText, body, toSite } = request;
  if (toSite !== site.code) throw new WrongRecipientError(`the join request is for site ${toSite}`);
  if (site.siteType === 'secondary') throw new JoinRefusedError('a secondary site takes no child sites');
  if (body.siteCode === site.code) throw new JoinRefusedError(`site code ${site.code} is this site's own`);
  const again = await site.db
    .selectFrom('hierarchy_joins')
    .select(['id', 'request'])
    .where('child_code', '=', body.siteCode)
    .where('state', '<>', 'refused')
    .executeTakeFirst();
  if (again !== undefined) {
    const earlier = verifyJoinRequest(again.request, 'as-issued');
    if (earlier.body.siteKey.keyId !== body.siteKey.keyId) {
      throw new JoinRefusedError(`site code ${body.siteCode} is joining or joined already with another key`);
    }
    return joinStatus(site, again.id, now);
  }
  const known = await site.db
    .selectFrom('sites')
    .select('code')
    .where('code', '=', body.siteCode)
    .executeTakeFirst();
  if (known !== undefined)
    throw new JoinRefusedError(`site code ${body.siteCode} is in use in this hierarchy`);

  const joinId = randomId();
  const certifyHere = site.siteType === 'central';
  await inTransaction(site.db, async (trx) => {
    if (authorisation !== 'manual') await checkToken(trx, site, body, now);
    await trx
      .insertInto('hierarchy_joins')
      .values({
        id: joinId,
        child_code: body.siteCode,
        site_type: body.siteType,
        child_url: body.url,
        request: requestText,
        state: 'pending',
        result: null,
        error: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await appendAudit(
      trx,
      {
        actor: `site ${body.siteCode}`,
        action: 'site.join-request',
        objectClass: 'site',
        objectId: body.siteCode,
        details: {
          siteType: body.siteType,
          siteKeyId: body.siteKey.keyId,
          keyExchange: authorisation,
          token: body.tokenId,
        },
      },
      now,
    );
    if (!certifyHere) {
      const parent = await parentLink(trx);
      if (parent === undefined) throw new JoinRefusedError('this site has no parent to certify the child');
      await enqueue(
        trx,
        parent.site_code,
        [
          record('certify-request', {
            joinId,
            parentCode: site.code,
            childCode: body.siteCode,
            siteType: body.siteType,
            siteName: body.siteName,
            childUrl: body.url,
            request: requestText,
          }),
        ],
        now,
      );
    }
  });
  if (certifyHere) {
    await inTransaction(site.db, async (trx) => {
      try {
        const issued = await certifyChild(
          trx,
          site.rootKeys,
          {
            childCode: body.siteCode,
            siteName: body.siteName,
            siteType: body.siteType,
            parentCode: site.code,
            siteKey: body.siteKey,
            mpKey: body.mpKey,
            url: body.url,
            tls: body.tls,
          },
          now,
          site.tlsIssuer,
        );
        await completeJoin(trx, site, joinId, issued, now);
      } catch (error) {
        if (!(error instanceof JoinRefusedError)) throw error;
        await refuseJoin(trx, joinId, error.message, now);
      }
    });
  }
  site.events.queued();
  return joinStatus(site, joinId, now);
}

async function checkToken(db: SiteDb, site: JoinSite, body: JoinRequestBody, now: Date): Promise<void> {
  if (body.tokenId === null) {
    if (!site.hierarchy.automaticKeyExchange) {
      throw new JoinTokenInvalidError(
        'a join token is required (automatic key exchange is off at this site)',
      );
    }
    return;
  }
  const tokenId = body.tokenId;
  await consumeJoinToken(
    db,
    { tokenId, siteType: body.siteType, childCode: body.siteCode, now },
    (proofKey) =>
      verifyJoinProof(
        proofKey,
        {
          tokenId,
          siteCode: body.siteCode,
          siteType: body.siteType,
          siteKeyId: body.siteKey.keyId,
          mpKeyId: body.mpKey?.keyId ?? null,
        },
        body.proof ?? '',
      ),
  );
}

/**
 * A child's certificates arrived (or were issued here): check them against the root, record the
 * child and its link, store the answer, and queue what the child needs first.
 */
async function completeJoin(
  db: SiteDb,
  site: JoinSite,
  joinId: string,
  issued: {
    siteCertificate: string;
    mpCertificate: string | null;
    tlsCertificate?: string | null | undefined;
  },
  now: Date,
): Promise<void> {
  const join = await db.selectFrom('hierarchy_joins').selectAll().where('id', '=', joinId).executeTakeFirst();
  if (join === undefined || join.state !== 'pending') return;
  const { body } = verifyJoinRequest(join.request, 'as-issued');
  const root = await siteRoot(db, now);
  const certificate = verifySiteCertificate(issued.siteCertificate, root, now, join.child_code);
  if (
    certificate.key.keyId !== body.siteKey.keyId ||
    certificate.payload.parentSiteCode !== site.code ||
    certificate.payload.siteType !== join.site_type
  ) {
    throw new JoinRefusedError(
      `the certificate issued for ${join.child_code} does not match its join request`,
    );
  }
  await saveSite(
    db,
    {
      code: join.child_code,
      name: certificate.payload.siteName,
      siteType: join.site_type,
      parentCode: site.code,
      siteKeyId: certificate.key.keyId,
      certificate: issued.siteCertificate,
    },
    now,
  );
  await createLink(
    db,
    { siteCode: join.child_code, direction: 'child', siteType: join.site_type, url: join.child_url },
    now,
  );
  const result: JoinResultBody = {
    joinId,
    state: 'certified',
    error: null,
    siteCertificate: issued.siteCertificate,
    mpCertificate: issued.mpCertificate,
    rootChain: await rootChain(db),
    certificates: await lineageCertificates(db),
    parent: { code: site.code, name: site.name, siteType: site.siteType, url: site.url },
  };
  const ca = await hierarchyCaBundle(db);
  if (issued.tlsCertificate !== undefined && issued.tlsCertificate !== null && ca !== undefined) {
    result.tls = { certificate: issued.tlsCertificate, ...ca };
  }
  await db
    .updateTable('hierarchy_joins')
    .set({ state: 'certified', result: JSON.stringify(result), updated_at: now })
    .where('id', '=', joinId)
    .execute();
  await enqueue(
    db,
    join.child_code,
    await initialSyncRecords(db, join.site_type, site.code, site.contentUrl),
    now,
  );
  await appendAudit(
    db,
    {
      actor: 'hierarchy',
      action: 'site.join',
      objectClass: 'site',
      objectId: join.child_code,
      details: { siteType: join.site_type, siteKeyId: certificate.key.keyId, url: join.child_url },
    },
    now,
  );
}

async function refuseJoin(db: SiteDb, joinId: string, message: string, now: Date): Promise<void> {
  await db
    .updateTable('hierarchy_joins')
    .set({ state: 'refused', error: message.slice(0, 1000), updated_at: now })
    .where('id', '=', joinId)
    .where('state', '=', 'pending')
    .execute();
}

/** GET /hierarchy/v1/joins/:id: the join's state and, when settled, the result signed now. */
export async function joinStatus(site: JoinSite, joinId: string, now: Date): Promise<JoinAnswer> {
  const join = await site.db
    .selectFrom('hierarchy_joins')
    .selectAll()
    .where('id', '=', joinId)
    .executeTakeFirst();
  if (join === undefined) throw new UnknownSiteError('no such join at this site');
  if (join.state === 'pending') return { joinId, state: 'pending', result: null };
  const body: JoinResultBody =
    join.state === 'certified' && join.result !== null
      ? (JSON.parse(join.result) as JoinResultBody)
      : {
          joinId,
          state: 'refused',
          error: join.error ?? 'refused',
          siteCertificate: null,
          mpCertificate: null,
          rootChain: [],
          certificates: [],
          parent: { code: site.code, name: site.name, siteType: site.siteType, url: site.url },
        };
  return { joinId, state: join.state, result: signJoinResult(body, site.siteKey, join.child_code, now) };
}

/**
 * `certify-request` records (up): the central site certifies and answers down toward the child's
 * parent; a site in between records the route and relays the request up. The child's join request
 * is checked again here (proof of possession); its token was checked by the child's parent, which
 * must be the sending child or lie below it.
 */
export function certifyRequestApplier(site: JoinSite): RecordApplier {
  return async (context, item) => {
    const body = readRecord('certify-request', item.body);
    await requireBelow(context, body.parentCode);
    const request = verifyJoinRequest(body.request, 'as-issued');
    if (
      request.body.siteCode !== body.childCode ||
      request.body.siteType !== body.siteType ||
      request.toSite !== body.parentCode
    ) {
      throw new JoinRefusedError('the relayed join request does not match its certify request');
    }
    if (site.siteType !== 'central') {
      await saveSite(
        context.trx,
        {
          code: body.childCode,
          name: body.siteName,
          siteType: body.siteType,
          parentCode: body.parentCode,
          siteKeyId: request.body.siteKey.keyId,
          certificate: null,
        },
        context.now,
      );
      const parent = await parentLink(context.trx);
      if (parent === undefined) throw new JoinRefusedError('no parent to relay the certify request to');
      await enqueue(context.trx, parent.site_code, [record('certify-request', body)], context.now);
      context.after(() => site.events.queued());
      return;
    }
    let result: RecordBody<'join-result'>;
    try {
      const issued = await certifyChild(
        context.trx,
        site.rootKeys,
        {
          childCode: body.childCode,
          siteName: body.siteName,
          siteType: body.siteType,
          parentCode: body.parentCode,
          siteKey: request.body.siteKey,
          mpKey: request.body.mpKey,
          url: body.childUrl,
          tls: request.body.tls,
        },
        context.now,
        site.tlsIssuer,
      );
      result = {
        joinId: body.joinId,
        parentCode: body.parentCode,
        childCode: body.childCode,
        state: 'certified',
        ...issued,
        error: null,
      };
    } catch (error) {
      if (!(error instanceof JoinRefusedError)) throw error;
      result = {
        joinId: body.joinId,
        parentCode: body.parentCode,
        childCode: body.childCode,
        state: 'refused',
        siteCertificate: null,
        mpCertificate: null,
        error: error.message,
      };
    }
    const link = await childLinkToward(context.trx, body.parentCode);
    if (link === undefined) throw new UnknownSiteError(`no link leads to site ${body.parentCode}`);
    await enqueue(context.trx, link, [record('join-result', result)], context.now);
    context.after(() => site.events.queued());
  };
}

async function requireBelow(context: ApplyContext, siteCode: string): Promise<void> {
  if (siteCode === context.link.site_code) return;
  if (!(await isInSubtreeOf(context.trx, siteCode, context.link.site_code))) {
    throw new UnknownSiteError(
      `site ${context.link.site_code} spoke for site ${siteCode}, which is not below it`,
    );
  }
}

/** `join-result` records (down): completes a join here, or relays the result toward the child's parent. */
export function joinResultApplier(site: JoinSite): RecordApplier {
  return async (context, item) => {
    const body = readRecord('join-result', item.body);
    if (body.parentCode !== site.code) {
      if (body.state === 'certified' && body.siteCertificate !== null) {
        const certificate = verifySiteCertificate(
          body.siteCertificate,
          await siteRoot(context.trx, context.now),
          context.now,
          body.childCode,
        );
        await saveSite(
          context.trx,
          {
            code: body.childCode,
            name: certificate.payload.siteName,
            siteType: certificate.payload.siteType,
            parentCode: body.parentCode,
            siteKeyId: certificate.key.keyId,
            certificate: body.siteCertificate,
          },
          context.now,
        );
      }
      const link = await childLinkToward(context.trx, body.parentCode);
      if (link === undefined) throw new UnknownSiteError(`no link leads to site ${body.parentCode}`);
      await enqueue(context.trx, link, [record('join-result', body)], context.now);
      context.after(() => site.events.queued());
      return;
    }
    if (body.state === 'refused' || body.siteCertificate === null) {
      await refuseJoin(context.trx, body.joinId, body.error ?? 'refused by the central site', context.now);
      return;
    }
    await completeJoin(
      context.trx,
      site,
      body.joinId,
      {
        siteCertificate: body.siteCertificate,
        mpCertificate: body.mpCertificate,
        tlsCertificate: body.tlsCertificate,
      },
      context.now,
    );
    context.after(() => site.events.queued());
  };
}
