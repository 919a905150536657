import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAuthorizationHeader, UnauthenticatedError } from '../../src/admin/identity/index.js';

const name = fc.string({ minLength: 1, maxLength: 20, unit: 'binary' }).filter((text) => !text.includes(':'));
const password = fc.string({ maxLength: 40, unit: 'binary' });

describe('Authorization header parser', () => {
  it('decodes what Basic encodes, for any name without a colon and any password', () => {
    fc.assert(
      fc.property(name, password, (n, p) => {
        const header = `Basic ${Buffer.from(`${n}:${p}`, 'utf8').toString('base64')}`;
        const parsed = parseAuthorizationHeader(header);
        // Lone surrogates are replaced when encoded as UTF-8, as any client would send them.
        const sent = Buffer.from(`${n}:${p}`, 'utf8').toString('utf8');
        const colon = sent.indexOf(':');
        expect(parsed).toEqual({
          kind: 'basic',
          name: sent.slice(0, colon),
          password: sent.slice(colon + 1),
        });
      }),
    );
  });

  it('either parses or throws UnauthenticatedError, never anything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (header) => {
        try {
          parseAuthorizationHeader(header);
        } catch (error) {
          expect(error).toBeInstanceOf(UnauthenticatedError);
        }
      }),
    );
  });

  it('refuses Basic credentials that are not UTF-8', () => {
    const header = `Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')}`;
    expect(() => parseAuthorizationHeader(header)).toThrow(UnauthenticatedError);
  });
});
