/**
 * What a site refuses on its hierarchy endpoints (S3 and the join, docs/spec/hierarchy.md). A real
 * central site runs as a process; a primary site is joined but not started, and the test speaks
 * for it with its real site key (read from its data folder), or with keys and documents it forges.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinDocumentSequence, signJoinRequest } from '../../src/site/hierarchy/join/join-documents.js';
import { decodeJoinToken, encodeJoinToken } from '../../src/site/hierarchy/join/join-token.js';
import { databaseLocation, openSiteDatabase } from '../../src/site/database/open.js';
import {
  joinProof,
  randomId,
  randomToken,
  readKeyFile,
  sha256Hex,
  signDocument,
  SigningKey,
} from '../../src/trust/index.js';
import { stopAllStewardProcesses } from '../support/steward-process.js';
import {
  createCentralSite,
  hierarchyOf,
  issueJoinToken,
  joinChildSite,
  linkTo,
  type HierarchySite,
} from './support/hierarchy-sites.js';

let central: HierarchySite;
let primary: HierarchySite;
let primaryKey: SigningKey;
let primaryMpKey: SigningKey;

beforeAll(async () => {
  central = await createCentralSite('CEN');
  await central.start();
  primary = await joinChildSite(central, 'PRI', 'primary');
  const secret = { secretFile: join(primary.dataDir, 'keys', 'key-secret') };
  primaryKey = await readKeyFile(join(primary.dataDir, 'keys', 'site.key'), secret);
  primaryMpKey = await readKeyFile(join(primary.dataDir, 'keys', 'mp.key'), secret);
}, 180_000);

afterAll(async () => {
  await stopAllStewardProcesses();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${central.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function errorCode(answer: { json: Record<string, unknown> }): string | undefined {
  return (answer.json['error'] as { code?: string } | undefined)?.code;
}

async function nextSequence(): Promise<number> {
  return linkTo(await hierarchyOf(central), 'PRI').inboundSequence + 1;
}

/** A status record from PRI, as its sender would put it in a batch. */
function statusRecord(machine: string, siteCode = 'PRI') {
  return {
    recordId: `status.${randomId().slice(0, 12)}`,
    type: 'status',
    body: {
      siteCode,
      messageId: `test-${randomId()}`,
      clientId: null,
      machine,
      deploymentId: null,
      statusId: 10001,
      severity: 'info',
      component: 'site',
      occurredAt: new Date().toISOString(),
      insertionStrings: ['refusal test'],
    },
  };
}

function message(
  sequence: number,
  records: unknown[],
  signer: SigningKey,
  fromSite = 'PRI',
  toSite = 'CEN',
): string {
  return signDocument(
    {
      kind: 'site-message',
      sequence,
      fromSite,
      toSite,
      records: records as never,
      issuedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    },
    [signer],
  ).encoded;
}

async function machinesAtCentral(): Promise<string[]> {
  const page = await central.api<{ items: { machine: string }[] }>('GET', '/status-messages?limit=500');
  return page.items.map((m) => m.machine);
}

describe('S3: site messages', () => {
  it('applies a message signed by the certified site key of a linked child, once; a replay is not applied again', async () => {
    const signed = message(await nextSequence(), [statusRecord('s3-accepted')], primaryKey);
    const first = await post('/hierarchy/v1/messages', { message: signed });
    expect(first.status).toBe(200);
    expect(first.json['status']).toBe('applied');
    const replay = await post('/hierarchy/v1/messages', { message: signed });
    expect(replay.status).toBe(200);
    expect(replay.json['status']).toBe('duplicate');
    expect((await machinesAtCentral()).filter((m) => m === 's3-accepted')).toHaveLength(1);
  });

  it('refuses a message signed by an uncertified key, or by a key of the child other than its site key', async () => {
    const sequence = await nextSequence();
    const forged = await post('/hierarchy/v1/messages', {
      message: message(sequence, [statusRecord('s3-forged')], SigningKey.generate()),
    });
    expect(forged.status).toBe(401);
    expect(errorCode(forged)).toBe('ERR_UNKNOWN_KEY');
    // The child's MP key is certified, but as an MP key: it does not speak for the site.
    const wrongKey = await post('/hierarchy/v1/messages', {
      message: message(sequence, [statusRecord('s3-mp-key')], primaryMpKey),
    });
    expect(wrongKey.status).toBe(401);
    expect(errorCode(wrongKey)).toBe('ERR_UNKNOWN_KEY');
    expect(await nextSequence()).toBe(sequence);
    expect(await machinesAtCentral()).not.toContain('s3-forged');
  });

  it('refuses a tampered batch (ERR_SIGNATURE_INVALID) and applies nothing of it', async () => {
    const signed = JSON.parse(message(await nextSequence(), [statusRecord('s3-original')], primaryKey)) as {
      payload: string;
    };
    const payload = Buffer.from(signed.payload, 'base64')
      .toString('utf8')
      .replace('s3-original', 's3-tampered');
    const tampered = JSON.stringify({ ...signed, payload: Buffer.from(payload, 'utf8').toString('base64') });
    const answer = await post('/hierarchy/v1/messages', { message: tampered });
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('ERR_SIGNATURE_INVALID');
    expect(await machinesAtCentral()).not.toContain('s3-tampered');
  });

  it('refuses a gap in the sequence, naming the sequence expected', async () => {
    const expected = await nextSequence();
    const answer = await post('/hierarchy/v1/messages', {
      message: message(expected + 5, [statusRecord('s3-gap')], primaryKey),
    });
    expect(answer.status).toBe(409);
    expect(errorCode(answer)).toBe('ERR_SITE_MESSAGE_GAP');
    expect((answer.json['error'] as { message: string }).message).toContain(`expected ${expected}`);
  });

  it('refuses messages of unlinked sites, for other sites, and join documents replayed onto a link', async () => {
    const stranger = await post('/hierarchy/v1/messages', {
      message: message(1, [statusRecord('s3-stranger', 'ZZZ')], SigningKey.generate(), 'ZZZ'),
    });
    expect(stranger.status).toBe(403);
    expect(errorCode(stranger)).toBe('ERR_UNKNOWN_SITE');
    const elsewhere = await post('/hierarchy/v1/messages', {
      message: message(await nextSequence(), [statusRecord('s3-elsewhere')], primaryKey, 'PRI', 'XYZ'),
    });
    expect(errorCode(elsewhere)).toBe('ERR_WRONG_RECIPIENT');
    const joinDocument = await post('/hierarchy/v1/messages', {
      message: message(
        joinDocumentSequence,
        [{ recordId: 'site-identity', type: 'site-identity', body: {} }],
        primaryKey,
      ),
    });
    expect(joinDocument.status).toBe(400);
  });

  it('skips a record in which a child speaks for a site that is not below it', async () => {
    const answer = await post('/hierarchy/v1/messages', {
      message: message(
        await nextSequence(),
        [statusRecord('s3-spoofed', 'CEN'), statusRecord('s3-honest')],
        primaryKey,
      ),
    });
    expect(answer.status).toBe(200);
    expect(answer.json['skipped']).toBe(1);
    const machines = await machinesAtCentral();
    expect(machines).toContain('s3-honest');
    expect(machines).not.toContain('s3-spoofed');
  });

  it('refuses unsigned site data while legacy site interop is off', async () => {
    const answer = await post('/hierarchy/v1/messages', {
      unsigned: {
        sequence: await nextSequence(),
        fromSite: 'PRI',
        toSite: 'CEN',
        records: [statusRecord('s3-unsigned')],
        issuedAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      },
    });
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('ERR_UNSIGNED_SITE_DATA');
    expect(await machinesAtCentral()).not.toContain('s3-unsigned');
  });
});

describe('joining', () => {
  function joinRequest(input: {
    code: string;
    token: string | null;
    signer?: SigningKey;
    siteKey?: SigningKey;
    proof?: string;
  }): string {
    const siteKey = input.siteKey ?? SigningKey.generate();
    const token = input.token === null ? null : decodeJoinToken(input.token);
    return signJoinRequest(
      {
        tokenId: token?.tokenId ?? null,
        proof:
          input.proof ??
          (token === null
            ? null
            : joinProof(sha256Hex(token.secret), {
                tokenId: token.tokenId,
                siteCode: input.code,
                siteType: token.siteType,
                siteKeyId: siteKey.keyId,
                mpKeyId: null,
              })),
        siteCode: input.code,
        siteName: `Site ${input.code}`,
        siteType: token?.siteType ?? 'primary',
        siteKey: siteKey.publicRecord(),
        mpKey: null,
        url: 'http://127.0.0.1:9',
        nonce: randomToken(16),
      },
      input.signer ?? siteKey,
      'CEN',
      new Date(),
    );
  }

  it('refuses a forged token: a secret that is not the one issued', async () => {
    const real = decodeJoinToken(await issueJoinToken(central, 'primary'));
    const forged = encodeJoinToken({ ...real, secret: randomToken(32) });
    await expect(joinChildSite(central, 'FRG', 'primary', { token: forged })).rejects.toMatchObject({
      code: 'ERR_JOIN_TOKEN_INVALID',
    });
    const unknown = encodeJoinToken({ ...real, tokenId: randomId() });
    const answer = await post('/hierarchy/v1/joins', {
      request: joinRequest({ code: 'UNK', token: unknown }),
    });
    expect(errorCode(answer)).toBe('ERR_JOIN_TOKEN_INVALID');
  });

  it('refuses a join without a token while automatic key exchange is off', async () => {
    const answer = await post('/hierarchy/v1/joins', {
      request: joinRequest({ code: 'NTK', token: null }),
    });
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('ERR_JOIN_TOKEN_INVALID');
  });

  it('refuses a join request not signed by the key it asks to certify (proof of possession)', async () => {
    const token = await issueJoinToken(central, 'primary');
    const answer = await post('/hierarchy/v1/joins', {
      request: joinRequest({ code: 'POP', token, signer: SigningKey.generate() }),
    });
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('ERR_UNKNOWN_KEY');
    // The token was not spent by the refused request: the rightful child still joins with it.
    const ok = await post('/hierarchy/v1/joins', { request: joinRequest({ code: 'POP', token }) });
    expect(ok.json['state']).toBe('certified');
    const again = await post('/hierarchy/v1/joins', { request: joinRequest({ code: 'PO2', token }) });
    expect(errorCode(again)).toBe('ERR_JOIN_TOKEN_USED');
  });

  it('refuses a site code that is in use in the hierarchy', async () => {
    const answer = await post('/hierarchy/v1/joins', {
      request: joinRequest({ code: 'PRI', token: await issueJoinToken(central, 'primary') }),
    });
    expect(answer.status).toBe(409);
    expect(errorCode(answer)).toBe('ERR_JOIN_REFUSED');
  });

  it('refuses an expired token', async () => {
    const token = await issueJoinToken(central, 'primary');
    const { tokenId } = decodeJoinToken(token);
    await central.stop();
    const database = await openSiteDatabase(databaseLocation(undefined, join(central.dataDir, 'database')));
    try {
      await database.db
        .updateTable('hierarchy_join_tokens')
        .set({ expires_at: new Date(Date.now() - 60_000) })
        .where('id', '=', tokenId)
        .execute();
    } finally {
      await database.close();
    }
    await central.start();
    const answer = await post('/hierarchy/v1/joins', { request: joinRequest({ code: 'EXP', token }) });
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('ERR_JOIN_TOKEN_EXPIRED');
  }, 120_000);
});
