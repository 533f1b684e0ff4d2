/**
 * How long the watcher waits between attempts while the remote is down. Pure.
 *
 * The first wait is `firstMs` (default: the poll interval, at least 1 s), each failed attempt doubles it, up to
 * `maxMs` (default: ten poll intervals, at most 5 minutes, never less than the first wait). Each wait is drawn
 * from the upper quarter below its step (×0.75..1), so nodes cut off by the same outage spread out instead of
 * returning in step, while the waits still grow strictly and never pass the cap.
 */
export interface RetryPolicy {
  firstMs: number;
  maxMs: number;
}

export const MAX_RETRY_MS = 5 * 60_000;

export function retryPolicy(pollMs: number, firstMs?: number, maxMs?: number): RetryPolicy {
  const first = Math.max(1, firstMs ?? Math.max(1_000, pollMs));
  const max = Math.max(first, maxMs ?? Math.min(MAX_RETRY_MS, 10 * pollMs));
  return { firstMs: first, maxMs: max };
}

/** The wait after the `failures`-th failed attempt in a row (1 = the failure that found the remote down). */
export function retryDelay(policy: RetryPolicy, failures: number, random = Math.random): number {
  const step = Math.min(policy.maxMs, policy.firstMs * 2 ** Math.min(Math.max(failures - 1, 0), 40));
  return Math.max(1, Math.round(step * (0.75 + 0.25 * random())));
}
