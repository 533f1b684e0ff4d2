import type { BusContext } from '../bus/context.js';
import type { Snapshot } from '../bus/model/snapshot.js';
import type { TaskView } from '../bus/model/task-view.js';
import { claimRank, claimTurn, rankStepMs, turnDeadline, RANK_WINDOW } from '../bus/model/claim-rank.js';
import { rankFleet } from '../bus/ops/claim-rank-fleet.js';

/** Round trips the rank step is the median of. */
const SAMPLES = 9;
/**
 * How many tasks at the head of the queue are ranked (and of the pending tasks, ordered into turns): the cost of a
 * decision stays bounded with thousands pending; the tasks behind them wait until they move up.
 */
export const RANKED_HEAD = 64;

export interface ClaimRanking {
  /** BatchLimits.ready: the tasks of the queue whose rank deadline has passed; schedules a wake for the nearest other. */
  ready: (queue: readonly TaskView[], snap: Snapshot, pending: readonly TaskView[]) => Promise<TaskView[]>;
  /** A look at the remote (a listing, a fetch if main moved) took `ms`. */
  looked: (ms: number) => void;
  /** A claim of this node (sync, decide, push) took `ms` to reach the remote. */
  claimed: (ms: number) => void;
  /** The current rank step, ms. */
  stepMs: () => number;
  /**
   * This node gave task `id` back because it could not start it (its project remote out of reach): it is not ready
   * here until `untilMs`, so that a node that can start it takes it first; this one takes it again after that
   * when no other did.
   */
  stepAside: (id: string, untilMs: number) => void;
  /** Stops the pending wake. */
  stop: () => void;
}

/**
 * The watcher's side of the claim ranking (bus/model/claim-rank.ts, docs/PROTOCOL.md §5 "Who claims first"): a
 * task this node ranks k for is claimed once this watcher has seen it pending for k steps, a step being the median
 * of its recent remote round trips. Rank 0 claims at once. Ranks below RANK_WINDOW wake themselves at their
 * deadline (`wake`: look at the remote again, then decide); higher ranks wait for an ordinary wake past theirs, so
 * a task whose first nodes are dead is still claimed, later, by one node rather than a herd.
 */
export function claimRanking(ctx: BusContext, wake: () => void, now: () => number = Date.now): ClaimRanking {
  const firstSeen = new Map<string, number>();
  const aside = new Map<string, number>();
  const looks: number[] = [];
  const claims: number[] = [];
  const keep = (list: number[], ms: number) => {
    list.push(ms);
    if (list.length > SAMPLES) list.shift();
  };
  /** main as this watcher's last decision saw it, and when it first saw that commit. */
  let mainAt: string | null = null;
  let changedAt = 0;
  let timer: NodeJS.Timeout | null = null;
  let timerAt = Number.POSITIVE_INFINITY;
  const stepMs = () => rankStepMs(looks, claims);
  const schedule = (at: number) => {
    if (timer && timerAt <= at) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = null;
      timerAt = Number.POSITIVE_INFINITY;
      wake();
    }, Math.max(0, at - now()) + 1);
    timer.unref();
  };
  return {
    stepMs,
    looked: (ms) => keep(looks, ms),
    claimed: (ms) => keep(claims, ms),
    stepAside: (id, untilMs) => {
      aside.set(id, untilMs);
      schedule(untilMs);
    },
    stop: () => {
      if (timer) clearTimeout(timer);
      timer = null;
      timerAt = Number.POSITIVE_INFINITY;
    },
    ready: async (queue, snap, pending) => {
      const t = now();
      if (snap.commit !== mainAt) {
        mainAt = snap.commit;
        changedAt = t;
      }
      // Ids no longer claimable here are forgotten: a task that comes back (released) is timed from then.
      const ids = new Set(queue.map((v) => v.id));
      for (const id of firstSeen.keys()) if (!ids.has(id)) firstSeen.delete(id);
      for (const id of ids) if (!firstSeen.has(id)) firstSeen.set(id, t);
      if (queue.length === 0) return [];
      const fleet = await rankFleet(ctx, snap);
      const step = stepMs();
      const turn = claimTurn(pending.slice(0, RANKED_HEAD).map((v) => ({ id: v.id, task: v.handoff })), fleet, ctx.config.node);
      const out: TaskView[] = [];
      let soonest = Number.POSITIVE_INFINITY;
      for (const [id, until] of aside) if (until <= t) aside.delete(id);
      for (const v of queue.slice(0, RANKED_HEAD)) {
        const until = aside.get(v.id);
        if (until !== undefined) {
          soonest = Math.min(soonest, until);
          continue;
        }
        const rank = claimRank(v.id, v.handoff, fleet, ctx.config.node);
        const due = turnDeadline(firstSeen.get(v.id) ?? t, changedAt, rank, turn, step);
        if (due <= t) out.push(v);
        else if (rank < RANK_WINDOW) soonest = Math.min(soonest, due);
      }
      if (soonest !== Number.POSITIVE_INFINITY) schedule(soonest);
      return out;
    },
  };
}
