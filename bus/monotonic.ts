/**
 * Milliseconds on this process's monotonic clock: what performance.now() measures, from another origin, so only
 * differences between two readings mean anything. performance.now() loads perf_hooks and Node's performance
 * timeline on first use (~7 M instructions), which every short command's lock paid at its start (issue 14);
 * process.hrtime is built in.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
