/** Steward's version, reported by the site and the agent. */
export const stewardVersion = '0.1.0';
