/** The agent's version, reported in heartbeats. */
export const stewardAgentVersion = '0.1.0';
