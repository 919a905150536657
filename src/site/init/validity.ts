/** How long the root and the certificates issued at init stay valid (renewed before they expire). */
const day = 24 * 3600 * 1000;

export const validityDays = { root: 5 * 365, site: 2 * 365, mp: 365 } as const;

/** Certificates are renewed when less than this share of their validity is left. */
export const renewWhenRemaining = 0.25;

export function certificateValidity(now: Date): { root: Date; site: Date; mp: Date } {
  return {
    root: new Date(now.getTime() + validityDays.root * day),
    site: new Date(now.getTime() + validityDays.site * day),
    mp: new Date(now.getTime() + validityDays.mp * day),
  };
}
