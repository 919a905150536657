import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAccount,
  fullAdministrator,
  grantRights,
  hasRight,
  listRights,
  objectClasses,
  requireRight,
  revokeRights,
  rightNames,
  type AdminPrincipal,
  type RightGrant,
} from '../../src/admin/identity/index.js';
import { describeEachBackend, type OpenedTestDatabase } from '../support/backends.js';

const objectClass = fc.constantFrom(...objectClasses);
const right = fc.constantFrom(...rightNames);
const instanceId = fc.string({ minLength: 1, maxLength: 12 }).filter((id) => id !== '*');
const rightSet = fc.uniqueArray(right, { minLength: 1 });
/** Grants that never include the full-administrator right. */
const ordinaryGrant: fc.Arbitrary<RightGrant> = fc
  .record({ objectClass, instanceId: fc.oneof(fc.constant('*'), instanceId), rights: rightSet })
  .filter(
    (grant) =>
      !(grant.objectClass === 'site' && grant.instanceId === '*' && grant.rights.includes('administer')),
  );

describe('hasRight (SMS class and instance rights)', () => {
  it('a class grant covers every instance of the class and the class itself', () => {
    fc.assert(
      fc.property(objectClass, rightSet, instanceId, (cls, rights, id) => {
        const grants = [{ objectClass: cls, instanceId: '*', rights }];
        return rights.every((r) => hasRight(grants, cls, id, r) && hasRight(grants, cls, null, r));
      }),
    );
  });

  it('an instance grant covers only that instance, never the class or another instance', () => {
    fc.assert(
      fc.property(objectClass, rightSet, instanceId, instanceId, (cls, rights, id, other) => {
        fc.pre(id !== other);
        const grants = [{ objectClass: cls, instanceId: id, rights }];
        return rights.every(
          (r) =>
            hasRight(grants, cls, id, r) &&
            !hasRight(grants, cls, other, r) &&
            !hasRight(grants, cls, null, r),
        );
      }),
    );
  });

  it('a grant on one class gives nothing on another class, and rights not granted are not held', () => {
    fc.assert(
      fc.property(ordinaryGrant, objectClass, fc.option(instanceId), right, (grant, cls, id, r) => {
        const held = hasRight([grant], cls, id, r);
        const expected =
          grant.objectClass === cls &&
          grant.rights.includes(r) &&
          (grant.instanceId === '*' || grant.instanceId === id);
        return held === expected;
      }),
    );
  });

  it('the full administrator holds every right on every class and instance', () => {
    fc.assert(
      fc.property(fc.array(ordinaryGrant), objectClass, fc.option(instanceId), right, (others, cls, id, r) =>
        hasRight([...others, fullAdministrator], cls, id, r),
      ),
    );
  });

  it('no grant gives no right', () => {
    fc.assert(
      fc.property(objectClass, fc.option(instanceId), right, (cls, id, r) => !hasRight([], cls, id, r)),
    );
  });

  it('administer on a class other than site, or on one site, is not full administration', () => {
    expect(
      hasRight([{ objectClass: 'site', instanceId: 'P01', rights: ['administer'] }], 'package', 'x', 'read'),
    ).toBe(false);
    expect(
      hasRight([{ objectClass: 'package', instanceId: '*', rights: ['administer'] }], 'package', 'x', 'read'),
    ).toBe(false);
  });

  it('requireRight names the missing right, class and instance in ERR_FORBIDDEN', () => {
    const principal: AdminPrincipal = { accountId: 'a', name: 'alice', via: 'token', grants: [] };
    expect(() => requireRight(principal, 'deployment', 'D1', 'deploy')).toThrow(
      expect.objectContaining({
        code: 'ERR_FORBIDDEN',
        status: 403,
        message: 'Account "alice" lacks the right "deploy" on deployment "D1".',
      }),
    );
    expect(() => requireRight(principal, 'package', null, 'create')).toThrow(/"create" on every package/);
  });
});

describeEachBackend('admin rights store', (open) => {
  let database: OpenedTestDatabase;
  beforeAll(async () => {
    database = await open();
  });
  afterAll(async () => {
    await database.discard();
  });

  it('grants merge with existing rights, and list returns class grants before instance grants', async () => {
    const { id } = await createAccount(database.db, { name: 'operator' });
    await grantRights(database.db, id, 'package', 'P1', ['read']);
    await grantRights(database.db, id, 'package', '*', ['read', 'distribute']);
    await grantRights(database.db, id, 'package', 'P1', ['modify', 'read']);
    expect(await listRights(database.db, id)).toEqual([
      { objectClass: 'package', instanceId: '*', rights: ['distribute', 'read'] },
      { objectClass: 'package', instanceId: 'P1', rights: ['modify', 'read'] },
    ]);
  });

  it('revoking removes the named rights and deletes a grant left empty', async () => {
    const { id } = await createAccount(database.db, { name: 'helpdesk' });
    await grantRights(database.db, id, 'client', '*', ['read', 'modify']);
    await grantRights(database.db, id, 'collection', 'C1', ['read']);
    await revokeRights(database.db, id, 'client', '*', ['modify']);
    await revokeRights(database.db, id, 'collection', 'C1', ['read']);
    await revokeRights(database.db, id, 'deployment', '*', ['read']);
    expect(await listRights(database.db, id)).toEqual([
      { objectClass: 'client', instanceId: '*', rights: ['read'] },
    ]);
  });

  it('refuses grants to unknown accounts, unknown rights and empty right lists', async () => {
    await expect(grantRights(database.db, 'nobody', 'client', '*', ['read'])).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
    const { id } = await createAccount(database.db, { name: 'picky' });
    await expect(grantRights(database.db, id, 'client', '*', [])).rejects.toMatchObject({
      code: 'ERR_INVALID_REQUEST',
    });
    // @ts-expect-error -- an unknown right, as an untyped caller could send it
    await expect(grantRights(database.db, id, 'client', '*', ['own'])).rejects.toMatchObject({
      code: 'ERR_INVALID_REQUEST',
    });
  });

  it('concurrent grants on the same grant all land (the union is computed by the database)', async () => {
    const { id } = await createAccount(database.db, { name: 'racer' });
    await Promise.all(rightNames.map((r) => grantRights(database.db, id, 'site', 'P01', [r])));
    expect(await listRights(database.db, id)).toEqual([
      { objectClass: 'site', instanceId: 'P01', rights: [...rightNames].sort() },
    ]);
  });
});
