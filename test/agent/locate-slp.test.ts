/**
 * locateBySlp with an injected fetch: what it sends, C6 byte and time limits on what it reads, and
 * every C2-locating refusal (wrong site, stale, another network, another hierarchy, tampering), plus
 * a root rotation followed from the root the agent holds.
 */
import { describe, expect, it } from 'vitest';
import { locateBySlp } from '../../src/agent/locate/index.js';
import { serverLocatorPaths, type LocateAnswer } from '../../src/protocol/index.js';
import {
  createRootDocument,
  issueSiteCertificate,
  signDocument,
  SigningKey,
  trustRootFromPin,
  type PayloadInputOf,
} from '../../src/trust/index.js';
import { buildSitePki } from '../support/test-pki.js';

const minute = 60_000;
const now = new Date();
const pki = buildSitePki({ now });
const root = trustRootFromPin([pki.rootDocument.encoded], pki.rootKey.fingerprint, now);
const slpUrl = 'http://slp.example.test:8430';

function answerPayload(
  changes: Partial<PayloadInputOf<'locator-answer'>> = {},
): PayloadInputOf<'locator-answer'> {
  return {
    kind: 'locator-answer',
    version: 1,
    siteCode: pki.siteCode,
    boundary: '10.1.0.0/16',
    managementPoints: [
      { name: 'ABC-MP1', urls: ['http://mp1.example.test:8430/'] },
      { name: 'ABC-MP2', urls: ['https://mp2.example.test/', 'http://mp1.example.test:8430/'] },
    ],
    issuedAt: new Date(now.getTime() - minute).toISOString(),
    expiresAt: new Date(now.getTime() + 14 * minute).toISOString(),
    ...changes,
  };
}

function answerBody(
  changes: Partial<PayloadInputOf<'locator-answer'>> = {},
  overrides: Partial<LocateAnswer> = {},
  signer: SigningKey = pki.siteKey,
): LocateAnswer {
  return {
    answer: signDocument(answerPayload(changes), [signer]).encoded,
    siteCertificate: pki.siteCertificate.encoded,
    rootChain: [pki.rootDocument.encoded],
    ...overrides,
  };
}

type Seen = { url: string; init: RequestInit };

function fetchAnswering(body: unknown, status = 200, seen: Seen[] = []): typeof fetch {
  return (input, init) => {
    seen.push({ url: input as string, init: init ?? {} });
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return Promise.resolve(new Response(text, { status, headers: { 'content-type': 'application/json' } }));
  };
}

async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return 'accepted';
}

describe('locateBySlp', () => {
  it('POSTs the addresses as JSON to /slp/v1/locate without following redirects, and returns the verified site', async () => {
    const seen: Seen[] = [];
    const located = await locateBySlp(`${slpUrl}/`, ['10.1.2.3', '10.1.2.3', 'fe80::1%eth0', 'junk'], {
      root,
      now,
      fetch: fetchAnswering(answerBody(), 200, seen),
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe(`${slpUrl}${serverLocatorPaths.locate}`);
    expect(seen[0]!.init.method).toBe('POST');
    expect(seen[0]!.init.redirect).toBe('error');
    expect(seen[0]!.init.signal).toBeInstanceOf(AbortSignal);
    expect(JSON.parse(seen[0]!.init.body as string)).toEqual({ addresses: ['10.1.2.3', 'fe80::1%eth0'] });
    expect(located).toMatchObject({
      siteCode: 'ABC',
      verified: true,
      boundary: '10.1.0.0/16',
      managementPointUrls: ['http://mp1.example.test:8430/', 'https://mp2.example.test/'],
    });
    expect(located.managementPoints).toHaveLength(2);
  });

  it('C1 follows a root rotation the answer offers from the root the agent holds', async () => {
    const newRootKey = SigningKey.generate();
    const v2 = createRootDocument(
      {
        version: 2,
        keys: [newRootKey],
        threshold: 1,
        issuedAt: new Date(now.getTime() - minute),
        expiresAt: new Date(now.getTime() + 365 * 86_400_000),
      },
      [pki.rootKey, newRootKey],
    );
    const certificate = issueSiteCertificate(
      {
        version: 2,
        siteCode: 'ABC',
        siteName: 'Site ABC',
        siteKey: pki.siteKey.publicRecord(),
        parentSiteCode: null,
        siteType: 'central',
        issuedAt: new Date(now.getTime() - minute).toISOString(),
        expiresAt: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
      },
      [newRootKey],
    );
    const body = answerBody(
      {},
      { siteCertificate: certificate.encoded, rootChain: [pki.rootDocument.encoded, v2.encoded] },
    );
    const located = await locateBySlp(slpUrl, ['10.1.2.3'], { root, now, fetch: fetchAnswering(body) });
    expect(located.root.version).toBe(2);
    expect(located.verified).toBe(true);
  });

  it('C2 locating refusals: tampered, uncertified signer, another site, stale, another network, another hierarchy', async () => {
    const run = (body: unknown, addresses = ['10.1.2.3'], extra: { siteCode?: string } = {}) =>
      codeOf(locateBySlp(slpUrl, addresses, { root, now, fetch: fetchAnswering(body), ...extra }));

    const genuine = answerBody();
    const envelope = JSON.parse(genuine.answer) as { payload: string };
    const forged = Buffer.from(envelope.payload, 'base64')
      .toString('utf8')
      .replace('mp1.example.test', 'evil.example.test');
    const tampered = {
      ...genuine,
      answer: JSON.stringify({ ...envelope, payload: Buffer.from(forged).toString('base64') }),
    };
    expect(await run(tampered)).toBe('ERR_SIGNATURE_INVALID');
    expect(await run(answerBody({}, {}, SigningKey.generate()))).toBe('ERR_UNKNOWN_KEY');
    expect(await run(answerBody({}, {}, pki.mpKey))).toBe('ERR_UNKNOWN_KEY');

    const other = buildSitePki({ siteCode: 'XYZ', now });
    const xyzCertificateFromOurRoot = issueSiteCertificate(
      {
        version: 1,
        siteCode: 'XYZ',
        siteName: 'Site XYZ',
        siteKey: other.siteKey.publicRecord(),
        parentSiteCode: 'ABC',
        siteType: 'primary',
        issuedAt: new Date(now.getTime() - minute).toISOString(),
        expiresAt: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
      },
      [pki.rootKey],
    );
    const xyzSpeaksForAbc = answerBody(
      {},
      { siteCertificate: xyzCertificateFromOurRoot.encoded },
      other.siteKey,
    );
    expect(await run(xyzSpeaksForAbc)).toBe('ERR_CERTIFICATE_SITE_MISMATCH');
    expect(await run(answerBody(), ['10.1.2.3'], { siteCode: 'XYZ' })).toBe('ERR_WRONG_RECIPIENT');

    const stale = answerBody({
      issuedAt: new Date(now.getTime() - 30 * minute).toISOString(),
      expiresAt: new Date(now.getTime() - minute).toISOString(),
    });
    expect(await run(stale)).toBe('ERR_EXPIRED');
    expect(await run(answerBody(), ['192.0.2.1'])).toBe('ERR_WRONG_RECIPIENT');

    const otherHierarchy = answerBody(
      {},
      { siteCertificate: other.siteCertificate.encoded, rootChain: [other.rootDocument.encoded] },
    );
    expect(await run(otherHierarchy)).toBe('ERR_UNKNOWN_KEY');
    expect(
      await codeOf(
        locateBySlp(slpUrl, ['10.1.2.3'], {
          pin: pki.rootKey.fingerprint,
          now,
          fetch: fetchAnswering(otherHierarchy),
        }),
      ),
    ).toBe('ERR_ROOT_PIN_MISMATCH');
    // Without a root the answer is still checked against the chain it came with, but not verified.
    const consistent = answerBody(
      { siteCode: 'XYZ' },
      { siteCertificate: other.siteCertificate.encoded, rootChain: [other.rootDocument.encoded] },
      other.siteKey,
    );
    const firstUse = await locateBySlp(slpUrl, ['10.1.2.3'], { now, fetch: fetchAnswering(consistent) });
    expect(firstUse.siteCode).toBe('XYZ');
    expect(
      await codeOf(locateBySlp(slpUrl, ['10.1.2.3'], { now, fetch: fetchAnswering(otherHierarchy) })),
    ).toBe('ERR_UNKNOWN_KEY');
    expect(firstUse.verified).toBe(false);
  });

  it('turns error answers into the server code and malformed answers into ERR_LOCATOR_RESPONSE', async () => {
    const run = (body: unknown, status = 200) =>
      codeOf(locateBySlp(slpUrl, ['10.1.2.3'], { root, now, fetch: fetchAnswering(body, status) }));
    expect(await run({ error: { code: 'ERR_NO_BOUNDARY', message: 'no', retryable: false } }, 404)).toBe(
      'ERR_NO_BOUNDARY',
    );
    expect(await run('<html>bad gateway</html>', 502)).toBe('ERR_HTTP_502');
    expect(await run('not json')).toBe('ERR_LOCATOR_RESPONSE');
    expect(await run({ ...answerBody(), extra: 1 })).toBe('ERR_LOCATOR_RESPONSE');
    expect(await run({ answer: 'x' })).toBe('ERR_LOCATOR_RESPONSE');
    const noContent: typeof fetch = () => Promise.resolve(new Response(null, { status: 204 }));
    expect(await codeOf(locateBySlp(slpUrl, ['10.1.2.3'], { root, now, fetch: noContent }))).toBe(
      'ERR_LOCATOR_RESPONSE',
    );
    expect(await codeOf(locateBySlp('ftp://slp.example.test/', ['10.1.2.3'], { root, now }))).toBe(
      'ERR_PAYLOAD_INVALID',
    );
    expect(await codeOf(locateBySlp('http://user:pw@slp.example.test/', ['10.1.2.3'], { root, now }))).toBe(
      'ERR_PAYLOAD_INVALID',
    );
  });

  it('C6: refuses an answer over the byte limit, declared or streamed, without reading it whole', async () => {
    const declared: typeof fetch = () =>
      Promise.resolve(
        new Response('{}', { status: 200, headers: { 'content-length': String(50 * 1024 * 1024) } }),
      );
    expect(await codeOf(locateBySlp(slpUrl, ['10.1.2.3'], { root, now, fetch: declared }))).toBe(
      'ERR_TOO_LARGE',
    );

    let pulled = 0;
    const endless: typeof fetch = () =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              pulled += 1;
              controller.enqueue(new Uint8Array(64 * 1024));
            },
          }),
          { status: 200 },
        ),
      );
    expect(
      await codeOf(locateBySlp(slpUrl, ['10.1.2.3'], { root, now, fetch: endless, maxBytes: 256 * 1024 })),
    ).toBe('ERR_TOO_LARGE');
    expect(pulled).toBeLessThan(10);
  });

  it('C6: gives up after the timeout even when the fetch ignores its abort signal, or the body stalls', async () => {
    const never: typeof fetch = () => new Promise<Response>(() => undefined);
    const started = Date.now();
    expect(await codeOf(locateBySlp(slpUrl, ['10.1.2.3'], { root, now, fetch: never, timeoutMs: 150 }))).toBe(
      'ERR_LOCATOR_UNREACHABLE',
    );
    expect(Date.now() - started).toBeLessThan(2000);

    const stalls: typeof fetch = () =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"answer":'));
            },
          }),
          { status: 200 },
        ),
      );
    expect(
      await codeOf(locateBySlp(slpUrl, ['10.1.2.3'], { root, now, fetch: stalls, timeoutMs: 150 })),
    ).toBe('ERR_LOCATOR_UNREACHABLE');

    const refused: typeof fetch = () => Promise.reject(new TypeError('fetch failed: ECONNREFUSED'));
    const error = await locateBySlp(slpUrl, ['10.1.2.3'], { root, now, fetch: refused }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ERR_LOCATOR_UNREACHABLE', retryable: true });
  });
});
