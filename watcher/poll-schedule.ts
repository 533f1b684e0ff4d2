/**
 * A cron expression (with seconds) for checking the remote every `ms`: cron fires on wall-clock boundaries, so
 * the interval is rounded to one that divides a minute (or an hour). Pure.
 */
export function pollCron(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  if (s < 60) return `*/${largestDivisorAtMost(60, s)} * * * * *`;
  const m = Math.round(s / 60);
  if (m < 60) return `0 */${largestDivisorAtMost(60, m)} * * * *`;
  return '0 0 * * * *';
}

function largestDivisorAtMost(n: number, max: number): number {
  for (let d = Math.min(n, max); d > 1; d--) if (n % d === 0) return d;
  return 1;
}
