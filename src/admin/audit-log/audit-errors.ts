import { StewardError } from '../../trust/index.js';

/** The audit log's hash chain does not verify (listed in docs/errors.md, section Admin). */
export class AuditChainBrokenError extends StewardError {
  readonly code = 'ERR_AUDIT_CHAIN_BROKEN';
  override readonly status = 500;
  readonly brokenAt: number;

  constructor(message: string, brokenAt: number) {
    super(message);
    this.brokenAt = brokenAt;
  }
}
