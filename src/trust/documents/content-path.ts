/**
 * Path rules for files in a content manifest and for a program's working directory (C5): a path
 * names a place inside the package folder and nowhere else, on every platform an agent runs on.
 */

/** Longest path accepted, in characters. */
export const maxContentPathLength = 1024;

// eslint-disable-next-line no-control-regex -- the rule is exactly about refusing control characters
export const controlCharacters = /[\u0000-\u001f\u007f]/;

/**
 * Why a path is refused, or undefined when it is safe: relative, forward slashes only, no empty,
 * `.` or `..` segments, no leading `/`, no backslash, no drive or stream colon, no control
 * characters (NUL included), at most 1024 characters.
 */
export function contentPathProblem(path: string): string | undefined {
  if (path.length === 0) return 'is empty';
  if (path.length > maxContentPathLength) return `is longer than ${maxContentPathLength} characters`;
  if (controlCharacters.test(path)) return 'contains a control character';
  if (path.includes('\\')) return 'contains a backslash';
  if (path.includes(':')) return 'contains a colon (drive letter or alternate stream)';
  if (path.startsWith('/')) return 'is absolute';
  for (const segment of path.split('/')) {
    if (segment === '') return 'has an empty segment';
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
  }
  return undefined;
}

/** True when the path stays inside the package folder (see contentPathProblem). */
export function isSafeContentPath(path: string): boolean {
  return contentPathProblem(path) === undefined;
}
