/**
 * One argument for a POSIX shell command line: single-quoted, with each `'` written as `'\''`. The
 * remote side of SSH always runs a command line through the user's shell, so every argument the
 * push sends is quoted this way; nothing is interpolated unquoted.
 */
export function shellQuote(argument: string): string {
  if (argument.includes('\0')) throw new RangeError('a shell argument cannot contain NUL');
  return `'${argument.replaceAll("'", "'\\''")}'`;
}

export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
