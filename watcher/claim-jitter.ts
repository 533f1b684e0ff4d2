import { HEARTBEAT_PREFIX } from '../bus/model/liveness.js';

/** Why the watcher woke: the poll tick, a file change, a freed slot, the retry timer, a heartbeat that got through. */
export type WakeReason = 'tick' | 'change' | 'slot' | 'retry' | 'beat';

/** Per other watcher on the bus, how much wider the spread of claim phases gets. */
export const JITTER_PER_PEER_MS = 15;
/** The widest spread, however many watchers share the bus: the longest a claim phase is put off. */
export const JITTER_MAX_MS = 120;

/**
 * How long a wake waits before its claim phase (the herd, issue 14): a change on the remote wakes every watcher
 * at once, and without a spread they all decide from the same state, pick alike and race for one ref. Only a
 * wake caused by someone else (a change, the poll tick) waits; a slot of its own that freed up does not (nobody
 * else was woken by it), nor the retry and beat wakes of an outage. The spread grows with the other watchers
 * on the bus (`peers`, by their heartbeat refs) up to JITTER_MAX_MS, so a lone watcher waits for nothing and the
 * first of N watchers starts after about JITTER_MAX_MS / (N + 1). Uniform in [0, bound). Pure.
 */
export function claimJitterMs(why: WakeReason, peers: number, random: () => number = Math.random): number {
  if (why !== 'change' && why !== 'tick') return 0;
  return random() * jitterBoundMs(peers);
}

/** The upper bound of claimJitterMs for `peers` other watchers. */
export function jitterBoundMs(peers: number): number {
  return Math.min(JITTER_MAX_MS, JITTER_PER_PEER_MS * Math.max(0, peers));
}

/** Other nodes that heartbeat on the bus (their refs as last listed), the watchers a change may also have woken. */
export function peersOf(refs: ReadonlyMap<string, string>, node: string): number {
  let n = 0;
  for (const ref of refs.keys()) if (ref.startsWith(HEARTBEAT_PREFIX) && ref !== `${HEARTBEAT_PREFIX}${node}`) n++;
  return n;
}
