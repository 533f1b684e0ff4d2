import type { BusContext } from '../bus/context.js';
import { deliverQueued } from '../bus/ops/deliver.js';
import { currentSnapshot } from '../bus/ops/query.js';
import type { RespondInput } from '../bus/ops/respond.js';
import { listQueue } from '../bus/queue.js';
import { asLocalFailure } from '../bus/local-io.js';
import { firstLine } from '../schemas/errors.js';
import { listOutbox, putOutbox, rejectOutbox, removeOutbox, type OutboxEntry } from './outbox.js';
import type { WatchOptions } from './watch-events.js';
import { landedPushes, pushBeforeResponse, retryPendingPushes } from './workspace/deliver-branch.js';
import { removePendingPush } from './workspace/pending-pushes.js';
import { publishDelivery } from '../bus/ops/delivery.js';
import { besideCause } from './workspace/push.js';
import type { DeliveringTask } from '../bus/ops/heartbeat.js';

export interface ResultDeliveryDeps {
  ctx: BusContext;
  onEvent: WatchOptions['onEvent'];
  retryMs: WatchOptions['retryMs'];
  /** Why the remote is down (the watcher's remote health), or null while it answers. */
  downReason: () => string | null;
  /** A run of this task is still this watcher's: its result is delivered by the run, not by a flush. */
  isRunning: (id: string) => boolean;
  /** Hands one result to the push that answers it (the watcher's response batcher); rejects as respond does. */
  submit: (input: RespondInput) => Promise<unknown>;
  report: (err: unknown) => void;
  fail: (err: unknown) => void;
  remoteFailed: (err: unknown) => boolean;
  /** A result began to wait for its project remote: the heartbeat says so early (watcher/heartbeats.ts). */
  onHold?: () => void;
}

export interface ResultDelivery {
  /** Results the outbox could not store (a full disk), by `<id>.<attempt>`. */
  readonly held: ReadonlyMap<string, OutboxEntry>;
  /** Stores a result in the outbox, or holds it in memory when the disk refuses. */
  queue: (entry: OutboxEntry) => void;
  /** Pushes one result (its project branch first); `fresh`: a run that just ended, reported `queued` if it must wait. */
  deliver: (entry: OutboxEntry, fresh?: boolean) => Promise<void>;
  /** Delivers everything waiting (held, outbox, queued dispatches and cancels); one flush at a time. */
  flush: () => Promise<void>;
  /** Results held back because their project remote does not take their branch yet: what the heartbeat's `delivering` says. */
  waitingForProject: () => DeliveringTask[];
  /**
   * Resolves when the flush under way and the retry of refused pushes it started (with the publishing of the
   * deliveries of those that landed) are over: what a watcher that ends waits for.
   */
  settled: () => Promise<void>;
}

/**
 * The watcher's results on their way to the bus (docs/ARCHITECTURE.md, the watcher): each is safe in the outbox
 * before its push is tried, a project task's branch is pushed before its response, and a result is removed from
 * the outbox only once the bus has it. A result the bus refuses for good (the task is no longer this node's) is
 * set aside for a person; one that finds itself already delivered (pushed before a crash) is not written twice.
 */
export function resultDelivery(deps: ResultDeliveryDeps): ResultDelivery {
  const { ctx, onEvent, report, fail, remoteFailed } = deps;
  const home = ctx.paths.home;
  /**
   * Results the outbox could not store (a full disk): kept here and delivered or stored like queued ones, so a
   * run's result is not lost while this process lives. Keyed `<id>.<attempt>`.
   */
  const held = new Map<string, OutboxEntry>();
  const keyOf = (e: { id: string; attempt: number }) => `${e.id}.${e.attempt}`;
  const queue = (entry: OutboxEntry): void => {
    try {
      putOutbox(home, entry);
      held.delete(keyOf(entry));
    } catch (err) {
      if (!held.has(keyOf(entry))) report(err);
      held.set(keyOf(entry), entry);
    }
  };

  /**
   * Delivers under way, by `<id>.<attempt>`: a run's own delivery, a flush and a background branch push may each
   * reach one result at once, and two copies of a response in one batch made the bus refuse the batch (WRITTEN_ONCE),
   * which set the result aside and let the claim be released and the task run again. A second call waits for the
   * first.
   */
  const delivering = new Map<string, Promise<void>>();
  const deliver = (entry: OutboxEntry, fresh = false): Promise<void> => {
    const key = keyOf(entry);
    const under = delivering.get(key);
    if (under) return under;
    const p = deliverOnce(entry, fresh).finally(() => delivering.delete(key));
    delivering.set(key, p);
    return p;
  };
  /**
   * Results whose run ended but whose branch the project remote did not take yet (an outage, PUSH_HOLD_MS at most),
   * by `<id>.<attempt>`: the task stays claimed on the bus meanwhile, and the heartbeat tells other nodes why. Kept
   * in memory: after a restart the first flush tries again and finds them anew.
   */
  const waiting = new Map<string, DeliveringTask>();
  const settle = (entry: OutboxEntry, reason: string | null): void => {
    const key = keyOf(entry);
    if (reason === null) {
      waiting.delete(key);
      return;
    }
    const fresh = !waiting.has(key);
    const tail = entry.input.output;
    waiting.set(key, { id: entry.id, attempt: entry.attempt, since: entry.push?.firstFailedAt ?? new Date().toISOString(), reason, ...(tail ? { tail } : {}) });
    if (fresh) deps.onHold?.();
  };
  const deliverOnce = async (entry: OutboxEntry, fresh: boolean): Promise<void> => {
    let held: string | null | undefined = null;
    try {
      held = await deliverStep(entry, fresh);
    } finally {
      // Held back by the project remote: waits, saying why; the bus away: as it was; any other end lets go of it.
      if (held !== undefined) settle(entry, held);
    }
  };
  /**
   * One try: why the project remote holds the result back (its branch not taken yet), undefined when the bus is away
   * (a result already waiting for its project remote still is, as far as anyone knows), null otherwise.
   */
  const deliverStep = async (entry: OutboxEntry, fresh: boolean): Promise<string | null | undefined> => {
    const downReason = deps.downReason();
    if (downReason !== null) {
      if (fresh) onEvent({ type: 'queued', id: entry.id, attempt: entry.attempt, reason: downReason });
      return undefined;
    }
    try {
      const branch = await pushBeforeResponse(home, entry);
      if (branch.go && branch.pushed) onEvent({ type: 'pushed', id: entry.id, attempt: entry.attempt, ...branch.pushed });
      // Stored again: the push's outcome must survive a crash between here and the response.
      if (entry.input.project) queue(entry);
      if (!branch.go) {
        if (fresh) onEvent({ type: 'queued', id: entry.id, attempt: entry.attempt, reason: branch.reason });
        return branch.reason;
      }
      await deps.submit(entry.input);
      held.delete(keyOf(entry));
      removeOutbox(home, entry.id, entry.attempt);
      onEvent({ type: 'delivered', id: entry.id, attempt: entry.attempt, status: entry.input.status });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if ((code === 'TASK_STATE' || code === 'WRITTEN_ONCE') && (await alreadyDelivered(entry))) {
        // Pushed before a crash kept us from removing it from the outbox: delivered, not doubled.
        held.delete(keyOf(entry));
        removeOutbox(home, entry.id, entry.attempt);
        onEvent({ type: 'delivered', id: entry.id, attempt: entry.attempt, status: entry.input.status });
      } else if (code === 'TASK_STATE' || code === 'UNKNOWN_TASK' || code === 'INVALID_BUS_FILE' || code === 'WRITTEN_ONCE' || code === 'PATH_OCCUPIED') {
        // INVALID_BUS_FILE: a result that can never be written as it is (a bug in what made it) is set aside for a
        // person rather than retried at every wake while the task stays claimed; so is one whose path is taken (a
        // response already there that this node does not see, something else at its path).
        const path = rejectOutbox(home, entry, firstLine(err) || code);
        held.delete(keyOf(entry));
        onEvent({ type: 'rejected', id: entry.id, attempt: entry.attempt, reason: firstLine(err) || code, path });
      } else if (remoteFailed(err)) {
        if (fresh) onEvent({ type: 'queued', id: entry.id, attempt: entry.attempt, reason: firstLine(err) });
      } else {
        onEvent({ type: 'queued', id: entry.id, attempt: entry.attempt, reason: firstLine(asLocalFailure(err, home)), local: true });
      }
    }
    return null;
  };
  const alreadyDelivered = async (entry: OutboxEntry): Promise<boolean> => {
    const v = await (await currentSnapshot(ctx)).view(entry.id);
    return v?.response?.node === ctx.config.node && v.response.attempt === entry.attempt;
  };
  /**
   * Publishes the pushes that landed after their responses went out (docs/PROTOCOL.md §3a, "A push that lands
   * later"): each stays in `<home>/pushes/` until the bus has its delivery, or never will (`moot`), so that a crash
   * or an outage of the bus in between loses nothing. One whose response is not on the bus yet waits for it.
   */
  const publishLanded = async (): Promise<void> => {
    for (const e of landedPushes(home)) {
      if (deps.downReason() !== null) return;
      try {
        const r = await publishDelivery(ctx, { id: e.id, attempt: e.attempt, branch: e.landed.branch, headCommit: e.landed.headCommit, url: e.push.url });
        if (r.outcome === 'wait') continue;
        removePendingPush(home, e.id, e.attempt);
        onEvent({ type: 'branch-delivered', id: e.id, attempt: e.attempt, branch: e.landed.branch, ...(r.outcome === 'moot' ? { moot: r.why } : {}) });
      } catch (err) {
        if (remoteFailed(err)) return;
        report(err);
      }
    }
  };
  let flushing: Promise<void> | null = null;
  /** The background retry of refused pushes. */
  let retryingPushes: Promise<void> | null = null;
  const flush = () => {
    flushing ??= (async () => {
      // Held results first try to reach the disk again (space may be back), then everything queued is pushed.
      for (const entry of [...held.values()]) queue(entry);
      const queued = listOutbox(home).filter((e) => !held.has(keyOf(e)));
      const now: OutboxEntry[] = [];
      for (const entry of [...queued, ...held.values()]) {
        if (deps.isRunning(entry.id)) continue;
        // A project branch's push may take long on a slow link: it goes on beside housekeeping (cancels, claims);
        // a flush while it is under way finds it in `delivering` and starts no second one.
        if (entry.push && !entry.input.project?.pushed) {
          void deliver(entry);
          continue;
        }
        now.push(entry);
      }
      // Handed in together, so that they go in one commit.
      await Promise.all(now.map((entry) => deliver(entry)));
      retryingPushes ??= retryPendingPushes(home, deps.retryMs)
        .then(async (done) => {
          for (const p of done) onEvent({ type: 'pushed', id: p.id, attempt: p.attempt, branch: p.branch, ...besideCause(p) });
          await publishLanded();
        }, report)
        .finally(() => (retryingPushes = null));
      if (deps.downReason() === null && listQueue(home).length > 0) {
        try {
          const d = await deliverQueued(ctx);
          if (d.delivered.length + d.rejected.length > 0) {
            onEvent({ type: 'sent', changes: d.delivered.map((e) => ({ kind: e.kind, id: e.id })), refused: d.rejected.map((r) => ({ kind: r.entry.kind, id: r.entry.id, reason: r.reason, path: r.path })) });
          }
        } catch (err) {
          if (!remoteFailed(err)) fail(err);
        }
      }
    })().finally(() => (flushing = null));
    return flushing;
  };
  const settled = async (): Promise<void> => {
    await flushing?.catch(() => undefined);
    await retryingPushes?.catch(() => undefined);
  };
  return { held, queue, deliver, flush, waitingForProject: () => [...waiting.values()], settled };
}
