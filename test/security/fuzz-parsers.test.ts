/**
 * Issue 5, fuzzing: fast-check properties over the parsers not covered elsewhere. Envelopes, the
 * signed document schemas and tampering are in test/trust; the collection rule language and
 * boundaries in test/site/*-properties.test.ts. Here: the report body schemas, the management
 * point and locator request and answer schemas (the agent parses the answers), registrations and
 * reports signed over arbitrary and mutated payloads (S1, S2), client address parsing, and the one
 * function that turns any thrown value into an HTTP answer. Each property either accepts a value
 * exactly as given or refuses it with a typed error; nothing throws anything else. Fixed seed.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  clientAddressSchema,
  errorBodySchema,
  heartbeatBodySchema,
  inventoryBodySchema,
  locateAnswerSchema,
  locateRequestSchema,
  registrationAnswerSchema,
  reportBatchAnswerSchema,
  reportBatchSchema,
  statusBodySchema,
  trustBundleSchema,
  type HeartbeatBody,
  type InventoryBody,
  type StatusBody,
} from '../../src/protocol/index.js';
import { errorAnswer } from '../../src/site/http/error-handler.js';
import { typedReportBody } from '../../src/site/reports/report-bodies.js';
import {
  encodeEnvelope,
  isStewardError,
  maxAddressTextLength,
  parseIpAddress,
  signDocument,
  signEnvelope,
  SigningKey,
  verifyClientReport,
  verifyRegistration,
  type ClientReportPayload,
} from '../../src/trust/index.js';

type DocumentInput = Parameters<typeof signDocument>[0];
import { FuzzTally, hostileJson, mutated, type Json } from '../support/fuzz.js';

const tally = new FuzzTally();
afterAll(() => {
  console.log(tally.summary('parser fuzzing'));
});

/** Runs `action`; a StewardError is a refusal (its code), anything else thrown fails the property. */
function outcome(action: () => unknown): string {
  try {
    action();
    return 'accepted';
  } catch (error) {
    if (isStewardError(error)) return error.code;
    throw error;
  }
}

const text = (max: number, min = 0) => fc.string({ minLength: min, maxLength: max, unit: 'grapheme-ascii' });
const isoTime = fc
  .date({
    min: new Date('1970-01-01T00:00:00.000Z'),
    max: new Date('9999-12-31T23:59:59.999Z'),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString());
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const finite = fc
  .oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))
  .filter((n) => !Object.is(n, -0));

const heartbeat: fc.Arbitrary<HeartbeatBody> = fc.record({
  hostname: text(255, 1),
  domain: fc.option(text(255), { nil: null }),
  addresses: fc.array(text(64), { maxLength: 64 }),
  agentVersion: text(64),
  platform: text(64),
  uptimeSeconds: fc.nat(),
});
const factName = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}(\.[a-zA-Z][a-zA-Z0-9_]{0,8}){1,3}$/);
const inventory: fc.Arbitrary<InventoryBody> = fc.record({
  full: fc.boolean(),
  baseHash: fc.option(hex64, { nil: null }),
  hash: hex64,
  facts: fc.record({
    set: fc.dictionary(factName, fc.oneof(text(1024), finite), { maxKeys: 20 }),
    removed: fc.array(factName, { maxLength: 20 }),
  }),
  software: fc.record({
    set: fc.array(fc.record({ name: text(255, 1), version: text(255), arch: text(64), source: text(64) }), {
      maxLength: 10,
    }),
    removed: fc.array(fc.record({ name: text(255, 1), arch: text(64) }), { maxLength: 10 }),
  }),
});
const status: fc.Arbitrary<StatusBody> = fc.record({
  messages: fc.array(
    fc.record({
      statusId: fc.integer({ min: 1, max: 99_999 }),
      deploymentId: fc.option(text(128), { nil: null }),
      policyVersion: fc.option(fc.integer({ min: 1 }), { nil: null }),
      occurredAt: isoTime,
      insertionStrings: fc.array(text(1024), { maxLength: 10 }),
      exitCode: fc.option(fc.integer(), { nil: null }),
      outputTail: fc.option(text(8192), { nil: null }),
    }),
    { minLength: 1, maxLength: 20 },
  ),
});

const bodies = [
  ['heartbeat', heartbeatBodySchema, heartbeat],
  ['inventory', inventoryBodySchema, inventory],
  ['status', statusBodySchema, status],
] as const;

describe('fuzz: report body schemas (src/protocol/reports.ts)', () => {
  for (const [name, schema, valid] of bodies) {
    it(`${name}: every valid body is accepted unchanged`, () => {
      tally.assert(
        `${name} body: valid accepted unchanged`,
        fc.property(valid as fc.Arbitrary<unknown>, (body) => {
          const parsed = schema.safeParse(JSON.parse(JSON.stringify(body)));
          expect(parsed.success).toBe(true);
          expect(parsed.data).toEqual(body);
        }),
        300,
      );
    });

    it(`${name}: any JSON and any mutation of a valid body is accepted or refused, never thrown; unknown keys are refused`, () => {
      tally.assert(
        `${name} body: hostile and mutated JSON`,
        fc.property(
          fc.oneof(
            hostileJson,
            (valid as fc.Arbitrary<Json>).chain((body) => mutated(body)),
          ),
          (body) => {
            const parsed = schema.safeParse(body);
            if (parsed.success)
              expect(schema.safeParse(JSON.parse(JSON.stringify(parsed.data))).success).toBe(true);
          },
        ),
        400,
      );
      tally.assert(
        `${name} body: an unknown key anywhere is refused`,
        fc.property(
          valid as fc.Arbitrary<Record<string, Json>>,
          fc.stringMatching(/^[a-z]{1,10}$/),
          (body, key) => {
            fc.pre(!(key in body));
            expect(schema.safeParse({ ...body, [key]: 1 }).success).toBe(false);
          },
        ),
        200,
      );
    });
  }

  it('typedReportBody: any report type and body gives a typed body or ERR_PAYLOAD_INVALID', () => {
    tally.assert(
      'typedReportBody: any type and body',
      fc.property(fc.constantFrom('heartbeat', 'inventory', 'status'), hostileJson, (reportType, body) => {
        const code = outcome(() => typedReportBody({ reportType, body } as unknown as ClientReportPayload));
        expect(['accepted', 'ERR_PAYLOAD_INVALID']).toContain(code);
      }),
      400,
    );
  });
});

const envelopeText = fc.string({ minLength: 2, maxLength: 200 });
const answerSchemas: [string, z.ZodType, fc.Arbitrary<Json>][] = [
  [
    'report batch (MP request)',
    reportBatchSchema,
    fc.record({ reports: fc.array(envelopeText, { minLength: 1, maxLength: 100 }) }),
  ],
  [
    'trust bundle (MP answer)',
    trustBundleSchema,
    fc.record({
      siteCode: fc.stringMatching(/^[A-Z0-9]{3}$/),
      rootChain: fc.array(envelopeText, { minLength: 1, maxLength: 5 }),
      siteCertificates: fc.array(envelopeText, { minLength: 1, maxLength: 5 }),
      mpCertificate: envelopeText,
    }),
  ],
  [
    'registration (MP answer)',
    registrationAnswerSchema,
    fc.record({ clientId: hex64, state: fc.constantFrom('pending', 'approved', 'revoked') }),
  ],
  [
    'report results (MP answer)',
    reportBatchAnswerSchema,
    fc.record({
      results: fc.array(
        fc.record({
          messageId: fc.option(text(128), { nil: null }),
          status: fc.constantFrom('stored', 'duplicate', 'rejected'),
          code: fc.option(text(64), { nil: null }),
        }),
        { maxLength: 100 },
      ),
      fullInventoryRequested: fc.boolean(),
    }),
  ],
  [
    'locate (SLP request)',
    locateRequestSchema,
    fc.record({ addresses: fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { minLength: 1, maxLength: 64 }) }),
  ],
  [
    'locate (SLP answer)',
    locateAnswerSchema,
    fc.record({
      answer: envelopeText,
      siteCertificate: envelopeText,
      rootChain: fc.array(envelopeText, { minLength: 1, maxLength: 5 }),
    }),
  ],
  [
    'error body (every 4xx/5xx)',
    errorBodySchema,
    fc.record({
      error: fc.record({
        code: fc.stringMatching(/^ERR_[A-Z_]{1,20}$/),
        message: text(200),
        retryable: fc.boolean(),
      }),
    }),
  ],
];

describe('fuzz: management point and locator request and answer schemas (src/protocol)', () => {
  for (const [name, schema, valid] of answerSchemas) {
    it(`${name}: valid accepted unchanged; hostile and mutated JSON refused or accepted, never thrown`, () => {
      tally.assert(
        `${name}: valid accepted unchanged`,
        fc.property(valid, (value) => {
          const parsed = schema.safeParse(value);
          expect(parsed.success).toBe(true);
          expect(parsed.data).toEqual(value);
        }),
        150,
      );
      tally.assert(
        `${name}: hostile and mutated JSON`,
        fc.property(
          fc.oneof(
            hostileJson,
            valid.chain((value) => mutated(value)),
          ),
          (value) => {
            schema.safeParse(value);
          },
        ),
        300,
      );
    });
  }
});

describe('fuzz: registrations and reports signed over arbitrary payloads (S1, S2)', () => {
  const key = SigningKey.fromSeed(new Uint8Array(32).fill(7));
  const other = SigningKey.fromSeed(new Uint8Array(32).fill(8));
  const now = new Date('2030-01-01T00:00:00.000Z');
  const registration = {
    kind: 'client-registration',
    version: 1,
    clientKey: key.publicRecord(),
    siteCode: 'ABC',
    hostname: 'fuzz-host',
    addresses: ['192.0.2.1'],
    mode: 'secure',
    rootSource: 'pinned',
    enrolmentToken: null,
    nonce: 'bm9uY2Utbm9uY2Utbm9uY2U',
    issuedAt: '2029-12-31T23:00:00.000Z',
    expiresAt: '2030-01-01T01:00:00.000Z',
  } as const;
  const report = {
    kind: 'client-report',
    sequence: 1,
    messageId: 'fuzz-1',
    clientId: key.keyId,
    siteCode: 'ABC',
    reportType: 'heartbeat',
    body: { hostname: 'fuzz-host' },
    issuedAt: '2029-12-31T23:00:00.000Z',
    expiresAt: '2030-01-01T01:00:00.000Z',
  } as const;
  const signedOver = (kind: string, payload: Json, signer: SigningKey) =>
    encodeEnvelope(
      signEnvelope(`application/vnd.steward.${kind}+json`, Buffer.from(JSON.stringify(payload)), [signer]),
    );

  it('the unmutated documents verify (control)', () => {
    expect(
      verifyRegistration(signDocument(registration as unknown as DocumentInput, [key]).encoded, now).clientId,
    ).toBe(key.keyId);
    expect(
      verifyClientReport(
        signDocument(report as unknown as DocumentInput, [key]).encoded,
        key.verifyingKey(),
        now,
      ).payload.clientId,
    ).toBe(key.keyId);
  });

  it('verifyRegistration: any text is refused with a typed error', () => {
    tally.assert(
      'verifyRegistration: arbitrary text',
      fc.property(fc.oneof(fc.string({ maxLength: 400 }), fc.json({ maxDepth: 3 })), (input) => {
        expect(outcome(() => verifyRegistration(input, now))).not.toBe('accepted');
      }),
      400,
    );
  });

  it('verifyRegistration: a mutated payload signed by any key registers only the key that signed it', () => {
    tally.assert(
      'verifyRegistration: mutated payloads, re-signed',
      fc.property(mutated(registration as unknown as Json), fc.boolean(), (payload, byOwnKey) => {
        const signer = byOwnKey ? key : other;
        const envelope = signedOver('client-registration', payload, signer);
        let clientId: string | undefined;
        const code = outcome(() => {
          clientId = verifyRegistration(envelope, now).clientId;
        });
        // Proof of possession: whatever was changed, an accepted registration names its signer.
        if (code === 'accepted') expect(clientId).toBe(signer.keyId);
        else expect(code).toMatch(/^ERR_[A-Z_]+$/);
      }),
      400,
    );
  });

  it('verifyClientReport: a mutated payload is accepted only when signed by the client it names', () => {
    tally.assert(
      'verifyClientReport: mutated payloads, re-signed',
      fc.property(mutated(report as unknown as Json), fc.boolean(), (payload, byOwnKey) => {
        const envelope = signedOver('client-report', payload, byOwnKey ? key : other);
        let named: string | undefined;
        const code = outcome(() => {
          named = verifyClientReport(envelope, key.verifyingKey(), now).payload.clientId;
        });
        if (code === 'accepted') {
          expect(byOwnKey).toBe(true);
          expect(named).toBe(key.keyId);
        }
      }),
      400,
    );
  });
});

describe('fuzz: client address parsing (parseIpAddress, clientAddressSchema)', () => {
  const ipLike = fc.oneof(
    fc.ipV4(),
    fc.ipV4Extended(),
    fc.ipV6(),
    fc.stringMatching(/^[0-9a-fA-F:.%]{0,45}$/),
    fc.tuple(fc.ipV6(), fc.string({ maxLength: 10 })).map(([a, zone]) => `${a}%${zone}`),
    fc
      .tuple(fc.ipV4(), fc.constantFrom('::ffff:', '::FFFF:', '::', '0:0:0:0:0:ffff:'))
      .map(([a, p]) => `${p}${a}`),
    fc.string({ maxLength: 80 }),
  );

  it('never throws; an address is read exactly when node:net reads it, and its text is canonical', () => {
    tally.assert(
      'parseIpAddress: node:net isIP as oracle',
      fc.property(ipLike, (input) => {
        const parsed = parseIpAddress(input);
        expect(clientAddressSchema.safeParse(input).success).toBe(parsed !== undefined);
        if (input.length > maxAddressTextLength) {
          expect(parsed).toBeUndefined();
          return;
        }
        const zone = input.includes(':') ? input.indexOf('%') : -1;
        const bare = zone === -1 ? input : input.slice(0, zone);
        expect(parsed !== undefined).toBe(isIP(bare) !== 0);
        if (parsed !== undefined) {
          expect(parseIpAddress(parsed.text)).toEqual(parsed);
          expect(isIP(parsed.text)).toBe(parsed.family);
        }
      }),
      2000,
    );
  });
});

describe('fuzz: errorAnswer turns anything thrown into a 4xx/5xx with an error body', () => {
  const thrown = fc.oneof(
    hostileJson,
    fc.record({
      code: fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom('FST_ERR_CTP_BODY_TOO_LARGE', 'ECONNREFUSED', '57P01', '23505'),
      ),
      statusCode: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.constant(undefined)),
      message: fc.oneof(fc.string({ maxLength: 50 }), fc.constant(undefined)),
    }),
    fc.string({ maxLength: 50 }).map((m) => new Error(m)),
    fc.string({ maxLength: 50 }).map((m) => new SyntaxError(m)),
    fc.string({ maxLength: 50 }).map((m) => Object.assign(new Error(m), { code: '57P03' })),
  );

  it('never throws, always 400-599, always a valid error body; unreachable databases are 503 ERR_DATABASE', () => {
    tally.assert(
      'errorAnswer: anything thrown',
      fc.property(thrown, (error) => {
        const { status, body } = errorAnswer(error);
        expect(status).toBeGreaterThanOrEqual(400);
        expect(status).toBeLessThan(600);
        expect(errorBodySchema.safeParse(body).success).toBe(true);
        if (status >= 500 && body.error.code !== 'ERR_INTERNAL') expect(body.error.retryable).toBe(true);
      }),
      1000,
    );
    for (const error of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      new Error('Connection terminated unexpectedly'),
      new Error('wrapped', {
        cause: Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      }),
    ]) {
      expect(errorAnswer(error)).toEqual({
        status: 503,
        body: { error: { code: 'ERR_DATABASE', message: expect.any(String) as string, retryable: true } },
      });
    }
    tally.add('errorAnswer: database unreachable examples', 4);
  });
});
