/**
 * Parsers of what the directory hands back: DNs (RFC 4514), SIDs and security descriptors
 * (MS-DTYP), replication metadata (MS-DRSR). Property tests for every encode/decode pair, and
 * malformed input never throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  entryCn,
  entryDn,
  escapeRdnValue,
  firstRdnValue,
  normalizeDn,
  parseDn,
  sameDn,
} from '../../src/directory/index.js';
import {
  attributeVersion,
  ntSecurityDescriptorAttid,
} from '../../src/directory/lookup/replication-metadata.js';
import { ownerSidOf, sidToBytes, sidToString } from '../../src/directory/lookup/security-descriptor.js';
import { ownerOnlyDescriptor } from './support/security-descriptor-builder.js';

describe('distinguished names', () => {
  it('escapeRdnValue then parseDn gives the value back', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (value) => {
        const trimmed = value.trim();
        fc.pre(trimmed.length > 0 && trimmed === value);
        expect(parseDn(`cn=${escapeRdnValue(value)},dc=example,dc=test`)?.[0]?.[0]?.value).toBe(value);
      }),
    );
  });

  it('compares DNs without regard to case or spaces around separators', () => {
    expect(
      sameDn(
        'uid=steward-ABC,ou=Site Systems,dc=Example,dc=test',
        'UID=steward-abc, OU=site systems,DC=example,DC=TEST',
      ),
    ).toBe(true);
    expect(sameDn('cn=a\\,b,dc=x', 'cn=a,b,dc=x')).toBe(false);
    expect(normalizeDn('CN=A+SN=B,DC=x')).toBe(normalizeDn('sn=b+cn=a,dc=X'));
    expect(firstRdnValue('CN=steward-ABC,CN=Users,DC=steward,DC=test')).toBe('steward-ABC');
    expect(parseDn('cn=unterminated\\')).toBeUndefined();
  });

  it('names entries within Active Directory’s 64-character cn, distinctly', () => {
    const long = `${'mp'.repeat(60)}.example.test`;
    expect(entryCn.managementPoint(long).length).toBeLessThanOrEqual(64);
    expect(entryCn.managementPoint(long)).not.toBe(entryCn.managementPoint(`${long}x`));
    expect(entryDn('dc=x', 'Steward-MP-a,b')).toBe('cn=Steward-MP-a\\,b,cn=System Management,cn=System,dc=x');
  });
});

describe('SIDs and security descriptors', () => {
  const sids = fc
    .tuple(
      fc.integer({ min: 0, max: 2 ** 32 }),
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
    )
    .map(([authority, subs]) => ['S-1', String(authority), ...subs.map(String)].join('-'));

  it('a SID survives bytes and back, and is the owner of a descriptor built around it', () => {
    fc.assert(
      fc.property(sids, (sid) => {
        const bytes = sidToBytes(sid)!;
        expect(sidToString(bytes)).toBe(sid);
        expect(ownerSidOf(ownerOnlyDescriptor(sid))).toBe(sid);
      }),
    );
  });

  it('refuses malformed SIDs and descriptors without throwing', () => {
    expect(sidToBytes('S-1-5-x')).toBeUndefined();
    expect(sidToBytes(`S-1-5${'-1'.repeat(16)}`)).toBeUndefined();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const buffer = Buffer.from(bytes);
        expect(() => ownerSidOf(buffer)).not.toThrow();
        expect(() => sidToString(buffer)).not.toThrow();
        expect(() => attributeVersion(buffer, ntSecurityDescriptorAttid)).not.toThrow();
      }),
    );
  });
});

describe('replPropertyMetaData', () => {
  function blob(entries: readonly [number, number][]): Buffer {
    const header = Buffer.alloc(16);
    header.writeUInt32LE(1, 0);
    header.writeUInt32LE(entries.length, 8);
    const rows = entries.map(([attid, version]) => {
      const row = Buffer.alloc(48);
      row.writeUInt32LE(attid, 0);
      row.writeUInt32LE(version, 4);
      return row;
    });
    return Buffer.concat([header, ...rows]);
  }

  it('reads how often the security descriptor was written', () => {
    expect(
      attributeVersion(
        blob([
          [0, 1],
          [ntSecurityDescriptorAttid, 3],
        ]),
        ntSecurityDescriptorAttid,
      ),
    ).toBe(3);
    expect(attributeVersion(blob([[0, 1]]), ntSecurityDescriptorAttid)).toBeUndefined();
    expect(attributeVersion(blob([[0, 1]]).subarray(0, 40), 0)).toBeUndefined();
  });
});
