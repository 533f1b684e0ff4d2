// Sizes as node.yaml writes them (64MiB, 512KiB, 1048576): pure, without zod (node-config.ts holds the schema).
import type { Violation } from './rule.js';

export const BYTE_SIZE_RULE = 'a size: a whole number of bytes, or a whole number followed by KiB, MiB or GiB (powers of 1024), for example 64MiB, 512KiB, 1GiB';

/** node.yaml `maxLogSize` when it gives none: what a task's log on the node keeps of its output at most. */
export const DEFAULT_LOG_SIZE = 64 * 1024 ** 2;
/** The least `maxLogSize`: room for a start, the notes, and an end longer than a response's output (8 KiB). */
export const MIN_LOG_SIZE = 64 * 1024;

const UNIT_BYTES = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;
// Digits are capped so the number is still exact as a JS number before the unit multiplies it.
const SIZE_RE = /^([0-9]{1,15}) ?(B|KiB|MiB|GiB)?$/;

/** Bytes, or undefined when `value` is not a size: a whole number ≥ 0, or its text with a unit. */
export function tryParseByteSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = SIZE_RE.exec(value);
  if (!m) return undefined;
  const bytes = Number(m[1]) * UNIT_BYTES[(m[2] ?? 'B') as keyof typeof UNIT_BYTES];
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Why `value` is not a size of at least `min` bytes, for the schema's rule. Pure. */
export function byteSizeViolation(value: unknown, min: number): Violation | undefined {
  const bytes = tryParseByteSize(value);
  if (bytes === undefined) {
    // The spellings people reach for first get the one they meant.
    const m = typeof value === 'string' ? /^([0-9]+) ?([kKmMgG])(?:B|b|iB|ib)?$/.exec(value.trim()) : null;
    const why = m ? ` (write ${m[1]}${(m[2] ?? '').toUpperCase() === 'K' ? 'KiB' : `${(m[2] ?? '').toUpperCase()}iB`}: units are KiB, MiB and GiB, powers of 1024)` : '';
    return { reason: `${JSON.stringify(value)} is not a size${why}`, fix: `write ${BYTE_SIZE_RULE}` };
  }
  if (bytes < min) return { reason: `${JSON.stringify(value)} is less than ${formatByteSize(min)}`, fix: `use at least ${formatByteSize(min)}` };
  return undefined;
}

/** A size in the largest unit that gives a whole number: 64MiB, 1536KiB, 1000B. Pure. */
export function formatByteSize(bytes: number): string {
  for (const unit of ['GiB', 'MiB', 'KiB'] as const) {
    if (bytes >= UNIT_BYTES[unit] && bytes % UNIT_BYTES[unit] === 0) return `${bytes / UNIT_BYTES[unit]}${unit}`;
  }
  return `${bytes}B`;
}
