// Durations as bus files write them (5m, 30s): pure, without zod (the schemas are in duration-schema.ts), so that a
// command that reads no file never loads zod (cli/schemas-script.ts).
import { GitbusError } from './errors.js';
import type { Violation } from './rule.js';
import { digitCount } from './text-scan.js';

// Digits are capped so the number part is still exact as a JS number before the unit multiplies it.
export const DURATION_RE = /^(0|[1-9][0-9]{0,14})(ms|s|m|h|d)$/;
export const DURATION_RULE = 'a duration: a whole number followed by ms, s, m, h or d, for example 500ms, 90s, 5m, 2h, 1d';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;
// Largest first, so formatDuration picks the shortest spelling.
const UNITS_DESCENDING: readonly Unit[] = ['d', 'h', 'm', 's'];

export class InvalidDurationError extends GitbusError {
  readonly code = 'INVALID_DURATION';
}

/** Milliseconds, or undefined when `text` is not a duration. */
export function tryParseDuration(text: string): number | undefined {
  const match = durationParts(text);
  if (!match) return undefined;
  const ms = Number(match.number) * UNIT_MS[match.unit];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * DURATION_RE's number and unit, or undefined: a scan, since V8 compiles a regular expression at every start
 * (schemas/text-scan.ts).
 */
export function durationParts(text: string): { number: string; unit: Unit } | undefined {
  const digits = digitCount(text, 0);
  if (digits === 0 || digits > 15 || (digits > 1 && text[0] === '0')) return undefined;
  const unit = text.slice(digits);
  return unit === 'ms' || unit === 's' || unit === 'm' || unit === 'h' || unit === 'd' ? { number: text.slice(0, digits), unit } : undefined;
}

export function parseDuration(text: string): number {
  const ms = tryParseDuration(text);
  if (ms === undefined) {
    const violation = durationViolation(text, false);
    throw new InvalidDurationError(violation?.reason ?? `${JSON.stringify(text)} is not a duration`, `write ${DURATION_RULE}`, { text });
  }
  return ms;
}

export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new InvalidDurationError(`${ms} is not a whole, non-negative number of milliseconds`, 'pass a whole number ≥ 0', { ms });
  }
  if (ms === 0) return '0s';
  for (const unit of UNITS_DESCENDING) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/** Why `text` is not a duration (or not a positive one), for the schemas' rules. Pure. */
export function durationViolation(text: string, positive: boolean): Violation | undefined {
  const ms = tryParseDuration(text);
  if (ms === undefined) {
    const why = durationParts(text) !== undefined ? ' (too long)' : /^\s|\s$/.test(text) ? ' (it has surrounding spaces)' : /[A-Z]/.test(text) ? ' (units are lower case)' : '';
    return { reason: `${JSON.stringify(text)} is not a duration${why}`, fix: `write ${DURATION_RULE}` };
  }
  if (positive && ms === 0) return { reason: 'the duration must be greater than zero', fix: 'use a duration such as 30s or 5m' };
  return undefined;
}

/** An age for people, rounded to its largest unit: 40s, 5m, 3h, 2d (`status`'s "5m ago", a node down since). Pure. */
export function roughAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
