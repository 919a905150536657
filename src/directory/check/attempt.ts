/** Trying an operation to learn whether it is allowed: the ACL check's only way of knowing. */
import { isStewardError } from '../../trust/index.js';
import { isDenied, resultCodeOf } from '../lookup/ldap-failure.js';

export type Attempt =
  | { outcome: 'allowed' }
  | { outcome: 'denied'; code: number | undefined }
  | { outcome: 'failed'; detail: string };

export async function attempt(work: () => Promise<unknown>): Promise<Attempt> {
  try {
    await work();
    return { outcome: 'allowed' };
  } catch (error) {
    // Anonymous searches and writes on Active Directory fail with operationsError (1) "a bind must be completed".
    if (isDenied(error) || resultCodeOf(error) === 1) return { outcome: 'denied', code: resultCodeOf(error) };
    const code = resultCodeOf(error);
    const message = isStewardError(error) || error instanceof Error ? error.message : String(error);
    return { outcome: 'failed', detail: code === undefined ? message : `LDAP result ${code}: ${message}` };
  }
}

export function describeAttempt(result: Attempt): string {
  if (result.outcome === 'allowed') return 'allowed';
  if (result.outcome === 'denied') return `refused (LDAP result ${result.code ?? '?'})`;
  return `failed: ${result.detail}`;
}
