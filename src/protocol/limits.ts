/**
 * C6: every size, count and time limit of the client protocol, checked before parsing or
 * allocating. Both sides import these numbers, so an agent never sends what a site refuses.
 */
export const protocolLimits = {
  /** Largest request body a management point reads (a batch of reports). */
  maxRequestBytes: 16 * 1024 * 1024,
  /** Largest single encoded envelope in a request. */
  maxEnvelopeBytes: 4 * 1024 * 1024,
  /** Reports accepted in one POST /mp/v1/reports. */
  maxReportsPerRequest: 100,
  /** Status messages in one status report. */
  maxStatusMessagesPerReport: 100,
  /** Largest response an agent reads for trust, policy and bodies. */
  maxResponseBytes: 2 * 1024 * 1024,
  /** Longest a report stays acceptable after it was signed (S2: replays beyond it are refused). */
  reportValidityMs: 7 * 24 * 60 * 60 * 1000,
  /** Inventory entries in one report. */
  maxInventoryFacts: 2000,
  maxInventorySoftware: 20000,
  /** Bytes of program output an agent keeps and reports. */
  maxOutputTailBytes: 4096,
  /** Addresses a client may report or ask the locator about. */
  maxAddresses: 64,
} as const;
