/**
 * Range requests (RFC 9110 section 14) for one file of known size. Only a single range is
 * honoured: `bytes=a-b`, `bytes=a-` and `bytes=-n`. A header with several ranges, or one that does
 * not parse, is ignored and the whole file is sent (RFC 9110 allows both; a multipart answer would
 * buy an agent nothing, since it resumes a download with a single range).
 */

/** What to send: the whole file, bytes start..end inclusive, or 416. */
export type RangeDecision =
  { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

const singleRange = /^bytes=[ \t]*(\d*)-(\d*)[ \t]*$/i;

/**
 * `ifRange` is the If-Range header: when present and not exactly the strong ETag, the whole file is
 * sent (the client's partial copy belongs to other content). A date never matches: the DP sends no
 * Last-Modified.
 */
export function decideRange(
  range: string | undefined,
  size: number,
  etag: string,
  ifRange?: string,
): RangeDecision {
  if (range === undefined) return { kind: 'full' };
  if (ifRange !== undefined && ifRange.trim() !== etag) return { kind: 'full' };
  const match = singleRange.exec(range.trim());
  if (match === null) return { kind: 'full' };
  const first = match[1] ?? '';
  const last = match[2] ?? '';
  if (first === '') {
    if (last === '') return { kind: 'full' };
    const length = countOf(last);
    if (length === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - length), end: size - 1 };
  }
  const start = countOf(first);
  const end = last === '' ? Infinity : countOf(last);
  if (end < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}

/** Decimal digits as a number; beyond 15 digits (past any file size) Infinity, never a rounded value. */
function countOf(digits: string): number {
  const trimmed = digits.replace(/^0+(?=\d)/, '');
  return trimmed.length > 15 ? Infinity : Number(trimmed);
}
