/**
 * A figure: one measured value, with the baseline measured in the same run (when the scenario has
 * one), their ratio, and the budget of DESIGN.md section 8 / issue 11 it is checked against.
 */
export interface Figure {
  readonly scenario: string;
  readonly name: string;
  /** null when it could not be measured; `note` says why. */
  readonly value: number | null;
  readonly unit: string;
  readonly baseline?: Baseline;
  readonly budget?: Budget;
  readonly note?: string;
}

export interface Baseline {
  readonly name: string;
  /** null when the baseline is not available (e.g. "nginx: not installed"). */
  readonly value: number | null;
  readonly unit: string;
  readonly note?: string;
}

/**
 * A budget bounds the value itself (`atLeast`, `atMost`) and/or its ratio to the baseline
 * (`ratioAtLeast`, `ratioAtMost`); it is met when every bound given holds.
 */
export interface Budget {
  readonly text: string;
  readonly atLeast?: number;
  readonly atMost?: number;
  readonly ratioAtLeast?: number;
  readonly ratioAtMost?: number;
}

export type Verdict = 'met' | 'MISSED' | 'n/a';

export function ratioOf(figure: Figure): number | null {
  const base = figure.baseline?.value;
  if (figure.value === null || base === undefined || base === null || base === 0) return null;
  return figure.value / base;
}

export function verdictOf(figure: Figure): Verdict {
  const budget = figure.budget;
  if (budget === undefined || figure.value === null || !Number.isFinite(figure.value)) return 'n/a';
  const ratio = ratioOf(figure);
  const usesRatio = budget.ratioAtLeast !== undefined || budget.ratioAtMost !== undefined;
  const usesValue = budget.atLeast !== undefined || budget.atMost !== undefined;
  if (usesRatio && ratio === null && !usesValue) return 'n/a';
  const value = figure.value;
  const failed =
    (budget.atLeast !== undefined && value < budget.atLeast) ||
    (budget.atMost !== undefined && value > budget.atMost) ||
    (ratio !== null && budget.ratioAtLeast !== undefined && ratio < budget.ratioAtLeast) ||
    (ratio !== null && budget.ratioAtMost !== undefined && ratio > budget.ratioAtMost);
  return failed ? 'MISSED' : 'met';
}

/** A number with three significant digits, as people read figures. */
export function formatNumber(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '—';
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}
