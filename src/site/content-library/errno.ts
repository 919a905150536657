/** True when the error is a Node system error with one of the given codes (ENOENT, EEXIST, …). */
export function isErrno(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? '');
}
