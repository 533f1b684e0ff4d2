import { readFileSync } from 'node:fs';

/** Timing helpers for the benchmarks: medians and tails, printed as ratios against a baseline from the same run. */
export interface Sample {
  median: number;
  p90: number;
  p95: number;
  n: number;
}

export function summarize(ms: number[]): Sample {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { median: at(0.5), p90: at(0.9), p95: at(0.95), n: s.length };
}

export async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export function fmt(x: number): string {
  return x < 10 ? x.toFixed(2) : x.toFixed(1);
}

export function row(name: string, ours: Sample, base: Sample | null, target?: number): string {
  const ratio = base ? ours.median / base.median : NaN;
  const verdict = target === undefined || !base ? '' : ratio <= target ? `  (target <= ${target}x: met)` : `  (target <= ${target}x: MISSED)`;
  return `${name.padEnd(52)} median ${fmt(ours.median).padStart(7)} ms  p95 ${fmt(ours.p95).padStart(7)} ms${base ? `  | baseline median ${fmt(base.median).padStart(7)} ms p95 ${fmt(base.p95).padStart(7)} ms  ratio ${ratio.toFixed(2)}x${verdict}` : ''}`;
}

/**
 * CPU time (user + system) of the children this process has waited for, in ms: fields 16 and 17 of
 * /proc/self/stat, in clock ticks (100 a second on Linux). Null where there is no /proc.
 */
export function childCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // The command name (field 2) may hold spaces; the fields after it start behind its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return null;
  }
}
