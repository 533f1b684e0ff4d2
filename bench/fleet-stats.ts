import type { HostRequest } from './git-host.js';
import type { WorkerEvent } from './fleet-worker.js';

/** Pure arithmetic for the fleet benchmark: a phase's host log and watcher events -> the figures it reports. */

/** GitHub's documented recommendations per repository (issue 14). */
export const GITHUB_PUSHES_PER_MINUTE = 6;
export const GITHUB_READS_PER_SECOND = 15;

export interface HostFigures {
  seconds: number;
  pushes: number;
  /** Pushes by the ref they updated: main, heartbeat refs, anything else (archive, ...). */
  mainPushes: number;
  heartbeatPushes: number;
  otherPushes: number;
  /** Mean ref updates per push (gitbus pushes one ref at a time; a host counts the push). */
  refsPerPush: number;
  /** Pushes to main receive-pack refused (`ng`): compare-and-swaps lost to another node. */
  mainRefused: number;
  /** Pushes to any other ref refused. */
  otherRefused: number;
  /** receive-pack's reasons for refusing, with their counts. */
  refusedBecause: Map<string, number>;
  /** Pushes without a readable report (a failed request). */
  unreported: number;
  lists: number;
  fetches: number;
  /** Reads (listings + fetches) per second over the phase, and the busiest 10 s window of it. */
  readsPerSecond: number;
  peakReadsPerSecond: number;
  /** Requests answered with an HTTP error. */
  httpErrors: number;
  requestMs: { median: number; p95: number };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export function hostFigures(log: readonly HostRequest[], start: number, end: number, windowMs = 10_000): HostFigures {
  const inPhase = log.filter((r) => r.at >= start && r.at < end);
  const seconds = (end - start) / 1000;
  const pushes = inPhase.filter((r) => r.kind === 'push');
  const firstRef = (r: HostRequest) => r.refs[0]?.ref ?? '';
  const reads = inPhase.filter((r) => r.kind === 'list' || r.kind === 'fetch');
  const windows = new Array<number>(Math.max(1, Math.ceil((end - start) / windowMs))).fill(0);
  for (const r of reads) {
    const i = Math.floor((r.at - start) / windowMs);
    windows[i] = (windows[i] ?? 0) + 1;
  }
  // A last window shorter than windowMs would read as a lower rate than it had; it is left out of the peak when others exist.
  const whole = (end - start) % windowMs === 0 || windows.length === 1 ? windows : windows.slice(0, -1);
  const ms = inPhase.map((r) => r.ms).sort((a, b) => a - b);
  const refs = pushes.flatMap((p) => p.refs);
  return {
    seconds,
    pushes: pushes.length,
    mainPushes: pushes.filter((p) => firstRef(p) === 'refs/heads/main').length,
    heartbeatPushes: pushes.filter((p) => firstRef(p).startsWith('refs/gitbus/heartbeats/')).length,
    otherPushes: pushes.filter((p) => firstRef(p) !== 'refs/heads/main' && !firstRef(p).startsWith('refs/gitbus/heartbeats/')).length,
    refsPerPush: pushes.length ? refs.length / pushes.length : 0,
    mainRefused: refs.filter((u) => u.ref === 'refs/heads/main' && u.ok === false).length,
    otherRefused: refs.filter((u) => u.ref !== 'refs/heads/main' && u.ok === false).length,
    refusedBecause: refs.filter((u) => u.ok === false).reduce((m, u) => m.set(u.reason, (m.get(u.reason) ?? 0) + 1), new Map<string, number>()),
    unreported: pushes.filter((p) => p.refs.length === 0 || p.refs.some((u) => u.ok === null)).length,
    lists: inPhase.filter((r) => r.kind === 'list').length,
    fetches: inPhase.filter((r) => r.kind === 'fetch').length,
    readsPerSecond: reads.length / seconds,
    peakReadsPerSecond: Math.max(...whole) / (windowMs / 1000),
    httpErrors: inPhase.filter((r) => r.status >= 400).length,
    requestMs: { median: quantile(ms, 0.5), p95: quantile(ms, 0.95) },
  };
}

export interface EventFigures {
  /** Every watcher event type seen in the phase, with its count. */
  byType: Map<string, number>;
  claimed: number;
  finished: number;
  /** Lost races as the watchers report them, if the code has such an event (any type naming a lost race). */
  lostRaceEvents: number | null;
  /** From a task's dispatch (the accepted push) to its claim, for tasks dispatched in the phase. */
  dispatchToClaimMs: { median: number; p95: number; n: number };
  /** The first few error messages, for the reader to see what went wrong. */
  errors: string[];
}

export function eventFigures(events: readonly WorkerEvent[], start: number, end: number, dispatchedAt: ReadonlyMap<string, number>): EventFigures {
  const inPhase = events.filter((e) => e.at >= start && e.at < end);
  const byType = new Map<string, number>();
  for (const e of inPhase) byType.set(e.event, (byType.get(e.event) ?? 0) + 1);
  const lostTypes = [...byType.keys()].filter((t) => /lost|race/i.test(t));
  const latencies = inPhase
    .filter((e) => e.event === 'claimed' && e.id !== undefined && dispatchedAt.has(e.id))
    .map((e) => e.at - (dispatchedAt.get(e.id as string) ?? e.at))
    .sort((a, b) => a - b);
  return {
    byType,
    claimed: byType.get('claimed') ?? 0,
    finished: byType.get('finished') ?? 0,
    lostRaceEvents: lostTypes.length ? lostTypes.reduce((n, t) => n + (byType.get(t) ?? 0), 0) : null,
    dispatchToClaimMs: { median: quantile(latencies, 0.5), p95: quantile(latencies, 0.95), n: latencies.length },
    errors: [...new Set(inPhase.filter((e) => e.message !== undefined && e.event !== 'remote-down').map((e) => `${e.event}: ${e.message}`))].slice(0, 5),
  };
}

/** `x` against a limit, as the ratio the reader compares with 1. */
export function against(x: number, limit: number): string {
  return `${(x / limit).toFixed(2)}x`;
}

/** Subjects of main's commits (`gitbus: <verb> ...`) tallied by verb. */
export function commitKinds(subjects: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of subjects) {
    const verb = /^gitbus: (\S+)/.exec(s)?.[1] ?? 'other';
    out.set(verb, (out.get(verb) ?? 0) + 1);
  }
  return out;
}
