/**
 * The LDAP filters behind directory approval and directory sign-in (docs/directory.md, sections 8
 * and 9): the documented matching rule, and no way for a registered host name or a typed account
 * name to widen a search (RFC 4515 escaping).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupFilter, userFilter } from '../../src/admin/identity/directory-sign-in.js';
import { rememberReported } from '../../src/agent/locate/directory-refresh.js';
import { machineAccountFilter } from '../../src/site/directory/machine-accounts.js';

describe('directory filters', () => {
  it('matches a short name by account name and a full name by DNS name, per server kind', () => {
    expect(machineAccountFilter('PC17', 'ad')).toBe(
      '(&(objectCategory=computer)(sAMAccountName=pc17$)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))',
    );
    expect(machineAccountFilter('pc17.corp.example.', 'ad')).toBe(
      '(&(objectCategory=computer)(dNSHostName=pc17.corp.example)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))',
    );
    expect(machineAccountFilter('pc17', 'openldap')).toBe('(|(&(objectClass=device)(cn=pc17))(uid=pc17$))');
    expect(machineAccountFilter('pc17.corp.example', 'openldap')).toBe(
      '(&(objectClass=device)(cn=pc17.corp.example))',
    );
  });

  it('refuses names that are not host names instead of searching for them', () => {
    for (const name of ['*', 'pc*', 'a)(uid=*', '', '-pc', 'pc..corp', 'pc_17', 'x'.repeat(64)]) {
      expect({ name, filter: machineAccountFilter(name, 'openldap') }).toEqual({ name, filter: undefined });
    }
  });

  it('escapes account names and DNs so that no input adds a filter item', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (name) => {
        for (const filter of [
          userFilter(name, 'openldap'),
          userFilter(name, 'ad'),
          groupFilter(name, 'ad'),
        ]) {
          const withoutEscapes = filter.replace(/\\[0-9a-f]{2}/g, '');
          const opened = (withoutEscapes.match(/\(/g) ?? []).length;
          const closed = (withoutEscapes.match(/\)/g) ?? []).length;
          expect(opened).toBe(closed);
          expect(withoutEscapes.includes('*')).toBe(false);
        }
      }),
    );
  });

  it('reports each ignored entry once, remembering at most 256', () => {
    const entry = (n: number) => ({
      dn: `cn=e${n},o=x`,
      kind: 'site' as const,
      writer: undefined,
      reason: 'S4',
    });
    const first = rememberReported(undefined, [entry(1), entry(2)]);
    expect(first.fresh).toHaveLength(2);
    const state = { siteCode: 'ABC', managementPoints: [], refreshedAt: '', reported: first.reported };
    const again = rememberReported(state, [entry(2), entry(3)]);
    expect(again.fresh.map((e) => e.dn)).toEqual(['cn=e3,o=x']);
    const many = rememberReported(
      state,
      Array.from({ length: 300 }, (_, n) => entry(n + 10)),
    );
    expect(many.reported).toHaveLength(256);
  });
});
