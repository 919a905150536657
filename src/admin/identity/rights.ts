import { z } from 'zod';

/**
 * Rights follow SMS's security model (DESIGN.md section 7): a right is granted on an object class
 * (every instance, `instanceId = '*'`) or on one instance. `administer` on class `site`, instance
 * `*`, is the full-administrator right and implies every other right.
 */
export const objectClasses = ['collection', 'package', 'deployment', 'client', 'site'] as const;
export const rightNames = [
  'read',
  'modify',
  'delete',
  'create',
  'distribute',
  'deploy',
  'administer',
] as const;

export type ObjectClass = (typeof objectClasses)[number];
export type Right = (typeof rightNames)[number];

export const objectClassSchema = z.enum(objectClasses);
export const rightSchema = z.enum(rightNames);

/** The instance id that stands for "every instance of the class". */
export const CLASS_INSTANCE = '*';

export interface RightGrant {
  readonly objectClass: ObjectClass;
  /** `'*'` for a class grant, otherwise the id of one instance. */
  readonly instanceId: string;
  readonly rights: readonly Right[];
}

/** The grant `createAccount({ administrator: true })` gives. */
export const fullAdministrator: RightGrant = {
  objectClass: 'site',
  instanceId: CLASS_INSTANCE,
  rights: ['administer'],
};

export function isFullAdministrator(grants: readonly RightGrant[]): boolean {
  return grants.some(
    (grant) =>
      grant.objectClass === 'site' &&
      grant.instanceId === CLASS_INSTANCE &&
      grant.rights.includes('administer'),
  );
}

/**
 * True when the grants give `right` on the instance (or, with `instanceId` null, on the class as a
 * whole, which only a class grant gives). A class grant covers every instance; an instance grant
 * covers only its instance.
 */
export function hasRight(
  grants: readonly RightGrant[],
  objectClass: ObjectClass,
  instanceId: string | null,
  right: Right,
): boolean {
  if (isFullAdministrator(grants)) return true;
  return grants.some(
    (grant) =>
      grant.objectClass === objectClass &&
      (grant.instanceId === CLASS_INSTANCE || (instanceId !== null && grant.instanceId === instanceId)) &&
      grant.rights.includes(right),
  );
}
