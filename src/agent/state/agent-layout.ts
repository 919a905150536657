import { join } from 'node:path';

/**
 * The agent's data folder (docs/agent.md):
 *
 *   agent.json            enrolment: client id, site, management point URLs, mode, root source
 *   steward.lock          held by the running agent
 *   keys/client.key       the client key, encrypted at rest (mode 0600); keys/key-secret unlocks it
 *   state/trust.json      the root chain the agent trusts (C1) and its pin, if any
 *   state/tls.json        the hierarchy TLS CA (endorsed by the root) and this client's certificate
 *   keys/client-tls.key   the private key of the client certificate, encrypted like client.key
 *   state/policy.json     last accepted assignment sequence (C3), ETag
 *   state/runs.json       what ran: per deployment, the policy version, state and exit code
 *   state/inventory.json  the last inventory sent (for deltas)
 *   queue/                reports not yet acknowledged, one file each (sent again until acknowledged)
 *   cache/                downloaded, verified package content
 */
export function agentLayout(dataDir: string) {
  return {
    dataDir,
    config: join(dataDir, 'agent.json'),
    keysDir: join(dataDir, 'keys'),
    clientKey: join(dataDir, 'keys', 'client.key'),
    clientTlsKey: join(dataDir, 'keys', 'client-tls.key'),
    /** The key of a certificate request still waiting for its certificate (joined sites relay it). */
    pendingClientTlsKey: join(dataDir, 'keys', 'client-tls-pending.key'),
    keySecret: join(dataDir, 'keys', 'key-secret'),
    stateDir: join(dataDir, 'state'),
    trust: join(dataDir, 'state', 'trust.json'),
    tls: join(dataDir, 'state', 'tls.json'),
    policy: join(dataDir, 'state', 'policy.json'),
    runs: join(dataDir, 'state', 'runs.json'),
    inventory: join(dataDir, 'state', 'inventory.json'),
    counters: join(dataDir, 'state', 'counters.json'),
    queue: join(dataDir, 'queue'),
    rejected: join(dataDir, 'queue', 'rejected'),
    cache: join(dataDir, 'cache'),
  } as const;
}

export type AgentLayout = ReturnType<typeof agentLayout>;
