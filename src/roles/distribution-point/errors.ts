/** The distribution point's own answer codes (docs/errors.md, section Content). */
import { StewardError } from '../../trust/index.js';

/** 416: a range that starts at or past the end of the file; the answer carries `Content-Range: bytes *\/size`. */
export class RangeNotSatisfiableError extends StewardError {
  readonly code = 'ERR_RANGE_NOT_SATISFIABLE';
  override readonly status = 416;

  constructor(readonly size: number) {
    super(`The requested range lies outside the file's ${size} bytes.`);
  }
}

export const distributionPointErrorClasses = [RangeNotSatisfiableError] as const;
