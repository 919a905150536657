/**
 * C2 locating: the `locator-answer` kind and acceptLocatorAnswer. One test per refusal: a wrong
 * site, a stale answer, another network, an uncertified or tampered signer, a validity too long.
 */
import { describe, expect, it } from 'vitest';
import {
  acceptLocatorAnswer,
  certifiedSiteKeys,
  issueSiteCertificate,
  parsePayload,
  signDocument,
  verifySiteCertificate,
  type StewardError,
} from '../../src/trust/index.js';
import { buildPki, minutesFromNow, now, samplePayload, seededKey, withFields } from './support/pki.js';

const pki = buildPki('locator');
const certified = verifySiteCertificate(pki.siteCertificate.encoded, pki.root, now);
const siteKeys = certifiedSiteKeys([certified]);

const childKey = seededKey('locator-child-site');
const childCertificate = issueSiteCertificate(
  {
    version: 1,
    siteCode: 'CHI',
    siteName: 'Child',
    siteKey: childKey.publicRecord(),
    parentSiteCode: 'ABC',
    siteType: 'primary',
    issuedAt: minutesFromNow(-60),
    expiresAt: minutesFromNow(60 * 24 * 30),
  },
  [pki.rootKey],
);
const bothSites = certifiedSiteKeys([
  certified,
  verifySiteCertificate(childCertificate.encoded, pki.root, now),
]);

const answer = (changes: Record<string, unknown> = {}, signer = pki.siteKey) =>
  signDocument(withFields('locator-answer', changes), [signer]).encoded;
const context = { siteKeys, addresses: ['198.51.100.7', '192.0.2.44'], now };

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as StewardError).code;
  }
  return 'accepted';
}

function bytesOf(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

describe('C2 locating: acceptLocatorAnswer', () => {
  it('C2 accepts an in-date answer signed by the certified key of the site it names, for this network', () => {
    const opened = acceptLocatorAnswer(answer(), context);
    expect(opened.payload.siteCode).toBe('ABC');
    expect(opened.payload.managementPoints[0]!.urls).toEqual(['https://mp1.example.test:8443/']);
    expect(codeOf(() => acceptLocatorAnswer(answer(), { ...context, siteCode: 'ABC' }))).toBe('accepted');
  });

  it('C2 reads IPv4-mapped IPv6 addresses and addresses with a zone as the addresses they are', () => {
    expect(codeOf(() => acceptLocatorAnswer(answer(), { ...context, addresses: ['::ffff:192.0.2.9'] }))).toBe(
      'accepted',
    );
    const v6 = answer({ boundary: '2001:db8:1::/48' });
    expect(codeOf(() => acceptLocatorAnswer(v6, { ...context, addresses: ['2001:db8:1:2::5%eth0'] }))).toBe(
      'accepted',
    );
    const range = answer({ boundary: '192.0.2.10-192.0.2.20' });
    expect(codeOf(() => acceptLocatorAnswer(range, { ...context, addresses: ['192.0.2.20'] }))).toBe(
      'accepted',
    );
    expect(codeOf(() => acceptLocatorAnswer(range, { ...context, addresses: ['192.0.2.21'] }))).toBe(
      'ERR_WRONG_RECIPIENT',
    );
  });

  it('C2 refuses an answer meant for another network: no address inside its boundary (ERR_WRONG_RECIPIENT)', () => {
    expect(codeOf(() => acceptLocatorAnswer(answer(), { ...context, addresses: ['203.0.113.1'] }))).toBe(
      'ERR_WRONG_RECIPIENT',
    );
    expect(codeOf(() => acceptLocatorAnswer(answer(), { ...context, addresses: [] }))).toBe(
      'ERR_WRONG_RECIPIENT',
    );
    expect(codeOf(() => acceptLocatorAnswer(answer(), { ...context, addresses: ['not-an-ip'] }))).toBe(
      'ERR_WRONG_RECIPIENT',
    );
  });

  it('C2 refuses a valid answer for another site than the client belongs to (ERR_WRONG_RECIPIENT)', () => {
    expect(codeOf(() => acceptLocatorAnswer(answer(), { ...context, siteCode: 'XYZ' }))).toBe(
      'ERR_WRONG_RECIPIENT',
    );
  });

  it('C2 refuses an answer naming a site other than the one whose key signed it (ERR_CERTIFICATE_SITE_MISMATCH)', () => {
    const childSpeaksForParent = answer({ siteCode: 'ABC' }, childKey);
    expect(codeOf(() => acceptLocatorAnswer(childSpeaksForParent, { ...context, siteKeys: bothSites }))).toBe(
      'ERR_CERTIFICATE_SITE_MISMATCH',
    );
    const parentSpeaksForChild = answer({ siteCode: 'CHI' });
    expect(codeOf(() => acceptLocatorAnswer(parentSpeaksForChild, { ...context, siteKeys: bothSites }))).toBe(
      'ERR_CERTIFICATE_SITE_MISMATCH',
    );
    expect(
      codeOf(() =>
        acceptLocatorAnswer(answer({ siteCode: 'CHI' }, childKey), { ...context, siteKeys: bothSites }),
      ),
    ).toBe('accepted');
  });

  it('C2 refuses a stale answer (ERR_EXPIRED) and one issued in the future (ERR_NOT_YET_VALID)', () => {
    const stale = answer({ issuedAt: minutesFromNow(-30), expiresAt: minutesFromNow(-1) });
    expect(codeOf(() => acceptLocatorAnswer(stale, context))).toBe('ERR_EXPIRED');
    const future = answer({ issuedAt: minutesFromNow(10), expiresAt: minutesFromNow(20) });
    expect(codeOf(() => acceptLocatorAnswer(future, context))).toBe('ERR_NOT_YET_VALID');
  });

  it('C2 refuses an answer signed by an uncertified key, the MP key, or tampered with', () => {
    expect(codeOf(() => acceptLocatorAnswer(answer({}, seededKey('rogue-slp')), context))).toBe(
      'ERR_UNKNOWN_KEY',
    );
    expect(codeOf(() => acceptLocatorAnswer(answer({}, pki.mpKey), context))).toBe('ERR_UNKNOWN_KEY');
    const genuine = JSON.parse(answer()) as { payload: string };
    const forged = Buffer.from(genuine.payload, 'base64')
      .toString('utf8')
      .replace('mp1.example.test:8443', 'evil.example.test:8443');
    const tampered = JSON.stringify({ ...genuine, payload: Buffer.from(forged).toString('base64') });
    expect(codeOf(() => acceptLocatorAnswer(tampered, context))).toBe('ERR_SIGNATURE_INVALID');
    const policy = signDocument(samplePayload('policy-body'), [pki.siteKey]).encoded;
    expect(codeOf(() => acceptLocatorAnswer(policy, context))).toBe('ERR_PAYLOAD_TYPE');
  });
});

describe('locator-answer schema', () => {
  it('refuses a validity longer than one hour, a non-canonical boundary, and bad management point lists', () => {
    const refused = [
      withFields('locator-answer', { issuedAt: minutesFromNow(0), expiresAt: minutesFromNow(61) }),
      withFields('locator-answer', { boundary: '192.0.2.1/24' }),
      withFields('locator-answer', { boundary: '192.000.2.0/24' }),
      withFields('locator-answer', { boundary: '2001:DB8::/32' }),
      withFields('locator-answer', { boundary: '192.0.2.9-192.0.2.1' }),
      withFields('locator-answer', { boundary: '192.0.2.7' }),
      withFields('locator-answer', { managementPoints: [] }),
      withFields('locator-answer', {
        managementPoints: [
          { name: 'mp1', urls: ['https://a.test/'] },
          { name: 'mp1', urls: ['https://b.test/'] },
        ],
      }),
      withFields('locator-answer', {
        managementPoints: Array.from({ length: 17 }, (_, i) => ({
          name: `mp${i}`,
          urls: ['https://a.test/'],
        })),
      }),
      withFields('locator-answer', { version: 2 }),
    ];
    for (const value of refused) {
      expect(
        codeOf(() => parsePayload('locator-answer', bytesOf(value))),
        JSON.stringify(value),
      ).toBe('ERR_PAYLOAD_INVALID');
    }
    expect(
      codeOf(() =>
        parsePayload(
          'locator-answer',
          bytesOf(
            withFields('locator-answer', { issuedAt: minutesFromNow(0), expiresAt: minutesFromNow(60) }),
          ),
        ),
      ),
    ).toBe('accepted');
    expect(
      codeOf(() =>
        parsePayload('locator-answer', bytesOf(withFields('locator-answer', { boundary: '2001:db8::/32' }))),
      ),
    ).toBe('accepted');
  });

  it('is never signed when invalid', () => {
    expect(
      codeOf(() => signDocument(withFields('locator-answer', { boundary: '10.0.0.1/8' }), [pki.siteKey])),
    ).toBe('ERR_PAYLOAD_INVALID');
  });
});
