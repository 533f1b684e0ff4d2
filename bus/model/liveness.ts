/**
 * Liveness by the observer's own clock (docs/PROTOCOL.md §5a). A node proves it is alive by moving its
 * heartbeat ref; an observer records when it first saw each value. A node whose ref has not moved for longer
 * than the lease, by the observer's clock, is silent — however wrong the node's own clock may be.
 *
 * Only silence the observer actually watched counts: when it could not list the remote for a while (the remote
 * was down, its own network was, or it simply was not running), it cannot tell whether the others were silent
 * or merely unable to reach the remote too, so every clock restarts at its first listing after the gap. Pure.
 */
export interface Observation {
  /** The heartbeat ref's value when last seen. */
  oid: string;
  /** When (observer's clock, ms since the epoch) that value was first seen. */
  since: number;
  /**
   * From when this observer counts the node's silence (observer's clock): `since`, or the first listing after a
   * gap in this observer's own listings, whichever is later. Leases are judged from this alone.
   */
  counted: number;
  /**
   * The observer's previous listing when this value was first seen (null: no earlier listing showed this node).
   * The value was written somewhere in (after, since]; a first look narrows that with the heartbeat's own time.
   */
  after: number | null;
}

export interface Observations {
  /** When this observer last listed the remote successfully (its clock); null before its first listing. */
  listedAt: number | null;
  nodes: Record<string, Observation>;
}

export const HEARTBEAT_PREFIX = 'refs/gitbus/heartbeats/';

export function heartbeatRef(node: string): string {
  return `${HEARTBEAT_PREFIX}${node}`;
}

export const NO_OBSERVATIONS: Observations = { listedAt: null, nodes: {} };

/**
 * A pause in this observer's own listings longer than this restarts every silence clock. Half the lease: a
 * watcher lists at every poll and heartbeat (both well below that with the usual settings), and an outage shorter
 * than this plus two heartbeats stays below the lease, so it cannot expire a node that was only cut off.
 */
export function observationGapMs(leaseMs: number): number {
  return leaseMs / 2;
}

/**
 * Folds one listing of the remote's refs, made at `listedAt` (observer's clock), into what this observer has
 * seen. A listing older than the last one folded in (another process of this node listed meanwhile) changes
 * nothing: it would make values that moved seem to move back.
 */
export function observe(prev: Observations, refs: ReadonlyMap<string, string>, listedAt: number, leaseMs: number): Observations {
  const last = prev.listedAt;
  const gapMs = observationGapMs(leaseMs);
  // Older than the last listing, but not so much older that the observer's clock must have been set back.
  if (last !== null && listedAt < last && last - listedAt <= gapMs) return prev;
  const gap = last === null || listedAt - last > gapMs || listedAt < last;
  const nodes: Observations['nodes'] = {};
  for (const [ref, oid] of refs) {
    if (!ref.startsWith(HEARTBEAT_PREFIX)) continue;
    const node = ref.slice(HEARTBEAT_PREFIX.length);
    const seen = prev.nodes[node];
    if (seen && seen.oid === oid) nodes[node] = gap ? { ...seen, counted: listedAt } : seen;
    else nodes[node] = { oid, since: listedAt, counted: listedAt, after: seen ? last : null };
  }
  return { listedAt, nodes };
}

export type Liveness = 'alive' | 'silent' | 'unleased';

/**
 * For decisions (reclaiming, reaping): `unleased` when the node never published a heartbeat (a person claiming
 * by hand), so its claims hold until it releases them or they are cancelled; `silent` when this observer has
 * watched its heartbeat stand still for longer than the lease, up to its latest listing.
 */
export function livenessOf(obs: Observations, node: string, leaseMs: number): Liveness {
  const o = obs.nodes[node];
  if (!o || obs.listedAt === null) return 'unleased';
  return obs.listedAt - o.counted > leaseMs ? 'silent' : 'alive';
}

/** What a node's heartbeat says of itself (docs/PROTOCOL.md §5a, heartbeat.yaml). */
export interface BeatFacts {
  /** Its `time` (the node's clock), ms since the epoch; null when unreadable. */
  time: number | null;
  /** It was the last heartbeat of a watcher that shut down cleanly. */
  stopped: boolean;
}

/**
 * When the node's current heartbeat was written, as well as this observer knows (observer's clock): the
 * heartbeat's own time, kept inside the interval in which this observer saw the value appear. On a first look
 * (no earlier listing showed the node) that interval is open to the past, so a long-dead node is seen as such at
 * once; while the observer keeps watching, the interval is one listing wide and its own clock rules, so skew
 * between the two clocks cannot matter for more than one listing.
 */
export function beatWrittenAt(o: Observation, beat: BeatFacts | null): number {
  if (!beat || beat.time === null) return o.since;
  return Math.min(o.since, Math.max(o.after ?? Number.NEGATIVE_INFINITY, beat.time));
}

export type ShownLiveness = Liveness | 'stopped';

/**
 * For people (status, doctor): `stopped` when the watcher said goodbye; `silent` when its heartbeat is older than
 * the lease by `beatWrittenAt` (a node dead for days is silent on the first look); else `alive`.
 */
export function shownLiveness(obs: Observations, node: string, beat: BeatFacts | null, leaseMs: number, now: number): { liveness: ShownLiveness; beatAt: number | null } {
  const o = obs.nodes[node];
  if (!o) return { liveness: 'unleased', beatAt: null };
  const beatAt = beatWrittenAt(o, beat);
  if (beat?.stopped) return { liveness: 'stopped', beatAt };
  return { liveness: now - beatAt > leaseMs ? 'silent' : 'alive', beatAt };
}
