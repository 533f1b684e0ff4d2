/**
 * Liveness by the observer's own clock (docs/PROTOCOL.md §5a). A node proves it is alive by moving its
 * heartbeat ref; an observer records when it first saw each value. A node whose ref has not moved for longer
 * than the lease, by the observer's clock, is silent — however wrong the node's own clock may be.
 *
 * Only silence the observer actually watched counts: when it could not list the remote for a while (the remote
 * was down, its own network was, or it simply was not running), it cannot tell whether the others were silent
 * or merely unable to reach the remote too, so every clock restarts at its first listing after the gap. Pure.
 */
import { OBSERVED_WINDOW_MS } from './budget.js';
import { isNodeName } from '../../schemas/ids.js';
import type { ForgedFile } from './types.js';

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
  /**
   * The open claims this observer last saw the node hold (`<id>.<attempt>`) and when it first saw the newest of
   * them (observer's clock). A node that marked presence long ago and then claims is not silent from its old beat:
   * its silence counts from the later of the two (§5a, "Waking from idle"). Absent: holds nothing, or a file of an
   * older gitbus.
   */
  holding?: { claims: string[]; since: number };
  /** When (observer's clock) this observer saw the value change, within the last OBSERVED_WINDOW_MS: the observed push rate. */
  changes?: number[];
}

export interface Observations {
  /** When this observer last listed the remote successfully (its clock); null before its first listing. */
  listedAt: number | null;
  nodes: Record<string, Observation>;
  /** The first listing after this observer's last gap: what it saw since then it saw whole. */
  watchedSince?: number;
  /**
   * main as last listed, and how often it was seen to move within the window (each move is at least one push):
   * `moves`, counts by MOVE_BUCKET_MS, so that the file stays small on a bus pushed to many times a second (a list
   * of every move's time was 15,000 numbers at 25 pushes a second, read and written at every wake). `changes`: a
   * file of an older gitbus, those times, read as moves.
   */
  main?: { oid: string; moves?: MainMoves; changes?: number[] };
}

/** [start of the bucket (a multiple of MOVE_BUCKET_MS, observer's clock), moves seen in it], oldest first. */
export type MainMoves = [number, number][];

/** The span main's moves are counted by: the window in sixty parts. */
export const MOVE_BUCKET_MS = OBSERVED_WINDOW_MS / 60;

export const HEARTBEAT_PREFIX = 'refs/gitbus/heartbeats/';

export function heartbeatRef(node: string): string {
  return `${HEARTBEAT_PREFIX}${node}`;
}

export const NO_OBSERVATIONS: Observations = { listedAt: null, nodes: {} };

/** The nodes whose card on main this node's trust sets aside (`nodes/<node>.md` among the forged files). */
export function setAsideCards(forged: readonly Pick<ForgedFile, 'kind' | 'path'>[]): string[] {
  return forged.filter((f) => f.kind === 'node' && f.path.startsWith('nodes/') && f.path.endsWith('.md')).map((f) => f.path.slice('nodes/'.length, -'.md'.length));
}

/**
 * The nodes with a heartbeat ref in `refs` and no card on main: taken off the bus while a watcher ran, or their card
 * was removed. A card this node's trust sets aside (`forged`: forged, or an unlisted node's waiting to be added) is
 * still on main, so its node is not one of them. A ref whose name is no node name (`a/b/c`, a bidi override) is
 * no node's: anyone with push access can make one, and it is not shown as a node.
 */
export function cardlessNodes(refs: ReadonlyMap<string, string>, carded: Iterable<string>, forged: readonly Pick<ForgedFile, 'kind' | 'path'>[]): string[] {
  const onMain = new Set([...carded, ...setAsideCards(forged)]);
  return [...refs.keys()].filter((r) => r.startsWith(HEARTBEAT_PREFIX)).map((r) => r.slice(HEARTBEAT_PREFIX.length)).filter((n) => isNodeName(n) && !onMain.has(n)).sort();
}

/**
 * The refs under the heartbeat prefix that name no node (`a/b/c`, a bidi override, upper case): every reader
 * ignores them (cardlessNodes, status), and gitbus never writes one, so one there was pushed by hand or by a tool.
 * Sorted. Pure.
 */
export function strayHeartbeatRefs(refs: ReadonlyMap<string, string>): string[] {
  return [...refs.keys()].filter((r) => r.startsWith(HEARTBEAT_PREFIX) && !isNodeName(r.slice(HEARTBEAT_PREFIX.length))).sort();
}

/**
 * `obs` without `nodes`: those whose heartbeat ref holds no commit (bus/ops/heartbeat.ts readBeatRef) are judged as
 * nodes that never beat. Pure.
 */
export function withoutNodes(obs: Observations, nodes: Iterable<string>): Observations {
  const drop = new Set(nodes);
  if (drop.size === 0) return obs;
  return { ...obs, nodes: Object.fromEntries(Object.entries(obs.nodes).filter(([n]) => !drop.has(n))) };
}

/**
 * A pause in this observer's own listings longer than this restarts every silence clock. Half the lease: a
 * watcher lists at every poll and heartbeat (both well below that with the usual settings), and an outage shorter
 * than this plus two heartbeats stays below the lease, so it cannot expire a node that was only cut off.
 */
export function observationGapMs(leaseMs: number): number {
  return leaseMs / 2;
}

/**
 * How far behind this observer's latest listing the listing time in its file may be, when no heartbeat moved: a
 * watcher lists the remote several times a wake on a busy bus, and writing the file for each listing was most of a
 * wake that had nothing to do (issue 14). Far inside the gap (observationGapMs): another process of the node, which
 * reads the file, takes a later listing for a gap at most this much sooner than it would be, which only restarts
 * clocks (a later expiry, the safe direction), and judges a silence at most this much later. What `status` shows of
 * when a heartbeat was written (a new value's `after`) may start up to this much earlier: shown, never decided on.
 * Pure.
 */
export function listingLagMs(leaseMs: number): number {
  return Math.min(observationGapMs(leaseMs) / 8, 5_000);
}

/**
 * Folds one listing of the remote's refs, made at `listedAt` (observer's clock), into what this observer has
 * seen. A listing older than the last one folded in (another process of this node listed meanwhile) changes
 * nothing: it would make values that moved seem to move back.
 */
export function observe(prev: Observations, refs: ReadonlyMap<string, string>, listedAt: number, leaseMs: number, holding?: ReadonlyMap<string, readonly string[]>): Observations {
  const last = prev.listedAt;
  const gapMs = observationGapMs(leaseMs);
  // Older than the last listing, but not so much older that the observer's clock must have been set back.
  if (last !== null && listedAt < last && last - listedAt <= gapMs) return prev;
  const gap = last === null || listedAt - last > gapMs || listedAt < last;
  const recent = (times: number[] | undefined) => (gap ? [] : (times ?? []).filter((t) => listedAt - t <= OBSERVED_WINDOW_MS));
  const nodes: Observations['nodes'] = {};
  for (const [ref, oid] of refs) {
    if (!ref.startsWith(HEARTBEAT_PREFIX)) continue;
    const node = ref.slice(HEARTBEAT_PREFIX.length);
    const seen = prev.nodes[node];
    let o: Observation;
    if (seen && seen.oid === oid) o = gap ? { ...seen, counted: listedAt } : { ...seen };
    else o = { oid, since: listedAt, counted: listedAt, after: seen ? last : null, ...(seen?.holding ? { holding: seen.holding } : {}) };
    const changes = recent(seen?.changes);
    if (seen && seen.oid !== oid && !gap) changes.push(listedAt);
    if (changes.length > 0) o.changes = changes;
    else delete o.changes;
    // Without what main holds (a listing made for a heartbeat), what was last seen stands.
    if (holding) {
      const claims = [...(holding.get(node) ?? [])].sort();
      const before = new Set(seen?.holding?.claims ?? []);
      if (claims.length === 0) delete o.holding;
      else o.holding = { claims, since: claims.some((c) => !before.has(c)) || !seen?.holding ? listedAt : seen.holding.since };
    }
    // A gap restarts the claim's clock too, as far as it must: after this observer's clock was set back, a `since`
    // from before the step lies ahead of every listing, and silenceFrom would keep a dead holder alive that long.
    if (gap && o.holding && o.holding.since > listedAt) o.holding = { ...o.holding, since: listedAt };
    nodes[node] = o;
  }
  const next: Observations = { listedAt, nodes, watchedSince: gap ? listedAt : (prev.watchedSince ?? listedAt) };
  const main = refs.get('refs/heads/main');
  if (main !== undefined) {
    const moves = gap ? [] : recentMoves(prev.main, listedAt);
    if (prev.main && prev.main.oid !== main && !gap) countMove(moves, listedAt);
    next.main = { oid: main, moves };
  }
  return next;
}

/** The buckets of main's moves still in the window at `at`, as a new list (an older file's times bucketed). */
function recentMoves(main: Observations['main'], at: number): MainMoves {
  const out: MainMoves = [];
  for (const [start, n] of movesOf(main)) if (at - (start + MOVE_BUCKET_MS) < OBSERVED_WINDOW_MS) out.push([start, n]);
  return out;
}

/**
 * main's moves as the file holds them: its buckets, or an older gitbus's times bucketed. Entries that are not what
 * this writes (a file edited or damaged by hand) are skipped: the count is a report, never a decision.
 */
function movesOf(main: Observations['main']): MainMoves {
  const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const count = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) > 0;
  if (Array.isArray(main?.moves)) return main.moves.filter((m): m is [number, number] => Array.isArray(m) && num(m[0]) && count(m[1]));
  const out: MainMoves = [];
  if (Array.isArray(main?.changes)) for (const t of main.changes.filter(num).sort((a, b) => a - b)) countMove(out, t);
  return out;
}

function countMove(moves: MainMoves, at: number): void {
  const start = Math.floor(at / MOVE_BUCKET_MS) * MOVE_BUCKET_MS;
  const last = moves[moves.length - 1];
  if (last && last[0] === start) last[1]++;
  else moves.push([start, 1]);
}

/** The pushes this observer saw in the last OBSERVED_WINDOW_MS (heartbeat changes and main moves) and how long it watched. */
export function observedPushes(obs: Observations, now: number): { pushes: number; watchedMs: number } {
  if (obs.listedAt === null) return { pushes: 0, watchedMs: 0 };
  const from = Math.max(now - OBSERVED_WINDOW_MS, obs.watchedSince ?? obs.listedAt);
  const inWindow = (times: number[] | undefined) => (times ?? []).filter((t) => t > from).length;
  // A bucket that began before `from` counts for its share after it, of the part this observer watched (it saw
  // nothing before watchedSince: a bucket that began before that holds only moves seen after).
  let pushes = 0;
  for (const [start, n] of movesOf(obs.main)) {
    const end = start + MOVE_BUCKET_MS;
    const watched = end - Math.max(start, obs.watchedSince ?? start);
    pushes += watched <= 0 ? 0 : n * Math.min(1, Math.max(0, (end - from) / watched));
  }
  for (const o of Object.values(obs.nodes)) pushes += inWindow(o.changes);
  return { pushes, watchedMs: Math.max(0, Math.min(now, obs.listedAt) - from) };
}

/**
 * From when this observer counts a node's silence: its beat's `counted`, or when it first saw the node holding
 * its newest open claim, whichever is later. A node that marked presence an hour ago and claims now is not silent.
 */
export function silenceFrom(o: Observation): number {
  return Math.max(o.counted, o.holding?.since ?? Number.NEGATIVE_INFINITY);
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
  return obs.listedAt - silenceFrom(o) > leaseMs ? 'silent' : 'alive';
}

/** What a node's heartbeat says of itself (docs/PROTOCOL.md §5a, heartbeat.yaml). */
export interface BeatFacts {
  /** Its `time` (the node's clock), ms since the epoch; null when unreadable. */
  time: number | null;
  /** It was the last heartbeat of a watcher that shut down cleanly. */
  stopped: boolean;
  /** When it said to expect its next beat (its `every`, ms); null: it did not say (an older gitbus: every heartbeat). */
  everyMs?: number | null;
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

export type ShownLiveness = Liveness | 'stopped' | 'idle';

/**
 * For people (status, doctor): `stopped` when the watcher said goodbye; `silent` when its heartbeat is older than
 * the lease by `beatWrittenAt` (a node dead for days is silent on the first look) and older than the `every` it
 * announced plus a lease of slack; `idle` in between (a node holding no claims marks presence rarely); else `alive`.
 */
export function shownLiveness(obs: Observations, node: string, beat: BeatFacts | null, leaseMs: number, now: number): { liveness: ShownLiveness; beatAt: number | null } {
  const o = obs.nodes[node];
  if (!o) return { liveness: 'unleased', beatAt: null };
  const beatAt = beatWrittenAt(o, beat);
  if (beat?.stopped) return { liveness: 'stopped', beatAt };
  // A claim seen after the beat counts like a beat (silenceFrom), for people as for decisions.
  const age = now - Math.max(beatAt, o.holding?.since ?? Number.NEGATIVE_INFINITY);
  if (age <= leaseMs) return { liveness: 'alive', beatAt };
  const every = beat?.everyMs ?? null;
  return { liveness: every !== null && !o.holding && age <= every + leaseMs ? 'idle' : 'silent', beatAt };
}
