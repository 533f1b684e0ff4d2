import type { FieldViolation } from './kind-rules.js';
import type { TaskResponse } from './response.js';
import { timestampMs } from './timestamp.js';

/**
 * The response's fields and rules without zod: response.ts builds its schema from them, and response-fast.ts reads
 * and writes a response without loading the schemas.
 */

export const RESPONSE_STATUSES = ['succeeded', 'failed', 'cancelled', 'timed-out'] as const;
export type ResponseStatus = (typeof RESPONSE_STATUSES)[number];

/** The fields in the order gitbus writes them (responseSchema's; test/unit/fast-files.test.ts holds them equal). */
export const RESPONSE_FIELDS = ['protocol', 'id', 'status', 'node', 'attempt', 'finished', 'started', 'exitCode', 'runner', 'durationMs', 'reason', 'claude', 'project'] as const;

/**
 * The most one run may report it cost. A response is anyone's with push access to write, and readers add costs up
 * (`group`): one above the bound is a warning on the response and counts as unknown, which keeps every sum finite.
 * Not an error: a response an older gitbus or a person wrote with such a cost still ends its task as it says (a
 * task waiting `after:` it still runs).
 */
export const MAX_COST_USD = 1_000_000;

export function responseRules(r: TaskResponse): FieldViolation[] {
  const out: FieldViolation[] = [];
  const started = r.started === undefined ? undefined : timestampMs(r.started);
  const finished = timestampMs(r.finished);
  if (started !== undefined && finished !== undefined && started > finished) {
    out.push({ field: 'started', reason: `the run started (${r.started}) after it finished (${r.finished})`, fix: 'check both times', severity: 'warning' });
  }
  if (r.claude?.costUsd !== undefined && !costCounts(r.claude.costUsd)) {
    out.push({ field: 'claude.costUsd', reason: `${r.claude.costUsd} is above ${MAX_COST_USD}, more than any run costs: readers count it as unknown`, fix: `write the run's cost (at most ${MAX_COST_USD}), or leave claude.costUsd out`, severity: 'warning' });
  }
  return out;
}

/** Whether a reported cost is one readers add up (at most MAX_COST_USD). */
export function costCounts(costUsd: number): boolean {
  return costUsd <= MAX_COST_USD;
}
