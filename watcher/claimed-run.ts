import type { BusContext } from '../bus/context.js';
import type { ClaimResult } from '../bus/ops/claim.js';
import { release } from '../bus/ops/release.js';
import { pruneProgress } from '../bus/progress.js';
import { effectiveRunner } from '../schemas/field-limits.js';
import { dropReservation, reserveOutbox } from './outbox.js';
import { outboxEntryFor } from './outbox-entry.js';
import type { ResultDelivery } from './result-delivery.js';
import { runTask, type CancelledBy } from './run-task.js';
import { forgetRunning, recordRunning } from './running-record.js';
import type { SpendCap } from './spend-cap.js';
import type { WakeReason } from './wake-reason.js';
import type { FinishedTask, WatchOptions } from './watch-events.js';
import { pushResult } from './workspace/push.js';
import type { FetchWait } from './workspace/fetch-retry.js';

/** One of this watcher's runs, from its claim until its result is on its way (or its claim given back). */
export interface Running {
  task: ClaimResult;
  cancel: AbortController;
  /** Set when a cancel file stopped the run: its author and reason go into the response. */
  cancelledBy: CancelledBy | null;
  done: Promise<void>;
  /** Its place among this node's runs (0 to parallel-1), for a project's per-run ports. */
  slot: number;
  /** The run itself is over (its result is on its way): its slot may go to the task claimed with that result. */
  ended: boolean;
}

export interface ClaimedRunDeps {
  ctx: BusContext;
  opts: Pick<WatchOptions, 'onEvent' | 'once' | 'stop'>;
  /** This watcher's runs by task id: a started run is added, and removed once it is over. */
  running: Map<string, Running>;
  /** Aborted when the shutdown's grace period is over: every run still going stops. */
  kill: AbortSignal;
  /** What ran to a result, for watch()'s caller. */
  finished: FinishedTask[];
  spendCap: SpendCap;
  /** The node runs claude tasks: its day's spend travels in its heartbeat. */
  showsSpend: boolean;
  /** Early heartbeats (watcher/progress-beats.ts). */
  early: { soon: () => void; forget: (id: string, attempt: number) => void };
  /** Results on their way to the bus (watcher/result-delivery.ts). */
  delivery: Pick<ResultDelivery, 'queue' | 'deliver'>;
  report: (err: unknown) => void;
  wake: (why: WakeReason) => void;
  /** How a project task's start waits for its project remote (watcher/workspace/fetch-retry.ts), as the bus's settings are now. */
  fetchWait: () => FetchWait;
  /**
   * gitbus.yaml's `maxAttempts` as last seen: only when a give-back cannot reach the bus, to tell whether its answer
   * waits in the outbox (the last attempt) or the orphan check gives it back later; the release decides otherwise.
   */
  maxAttempts: () => number;
  /** A task given back because it could not start here: other nodes get the first chance at it (ClaimRanking.stepAside). */
  stepAside: (id: string) => void;
}

/**
 * Starting a claimed task: a free slot, room in the outbox for its result, its share of the day's claude cap, the
 * run, and once it ends its result stored and delivered, or (stopped by the shutdown) its claim given back.
 */
export function claimedRuns(deps: ClaimedRunDeps): { start: (task: ClaimResult) => void } {
  const { ctx, opts, running, kill, finished, spendCap, showsSpend, early, report } = deps;
  const home = ctx.paths.home;
  const start = (task: ClaimResult) => {
    opts.onEvent({ type: 'claimed', id: task.id, attempt: task.attempt, title: task.title, reclaimed: task.reclaimed !== null });
    const cancel = new AbortController();
    const abort = AbortSignal.any([cancel.signal, kill]);
    const taken = new Set([...running.values()].filter((r) => !r.ended).map((r) => r.slot));
    let slot = 0;
    while (taken.has(slot)) slot++;
    const self: Running = { task, cancel, cancelledBy: null, done: Promise.resolve(), slot, ended: false };
    // Room for the result, kept before the run can fill the disk (given up when the result is stored).
    reserveOutbox(home, task.id, task.attempt);
    const runKey = `${task.id}.${task.attempt}`;
    const refusal = task.policy && !task.policy.ok ? task.policy : null;
    if (refusal) opts.onEvent({ type: 'refused', id: task.id, attempt: task.attempt, answered: true, reason: refusal.reason });
    // Synchronously, before the next claim of this drain: what this run may spend is held against the day's cap.
    const spend = effectiveRunner(task.handoff) === 'claude' && !refusal ? spendCap.reserve(runKey, budgeted(task)) : undefined;
    const done = (async () => {
      const outcome = await runTask(ctx, task, abort, (pid) => {
        try {
          recordRunning(home, { id: task.id, attempt: task.attempt, pid });
        } catch (err) {
          // Only restart recovery needs the record; the run itself goes on.
          report(err);
        }
      }, { slot, fetchWait: deps.fetchWait() }, spend);
      self.ended = true;
      try {
        spendCap.settle(runKey, { id: task.id, attempt: task.attempt, costUsd: outcome.claude?.costUsd });
        // What the node spent today is in its heartbeat: status elsewhere sees it soon, not a beat interval later.
        if (showsSpend && (outcome.claude?.costUsd ?? 0) > 0) early.soon();
      } catch (err) {
        report(err);
      }
      const durationMs = outcome.finished.getTime() - outcome.started.getTime();
      try {
        if (outcome.status === 'cancelled' && kill.aborted && !cancel.signal.aborted) {
          // Stopped by our own shutdown, not by a cancel: give it back for another node — with the work so far on
          // its branch when the project remote takes it quickly, so that the next attempt continues from there.
          if (outcome.push) await pushResult(outcome.push, SHUTDOWN_PUSH_MS).catch(() => undefined);
          await release(ctx, task.id, 'the watcher shut down before the task finished');
          opts.onEvent({ type: 'released', id: task.id, attempt: task.attempt, reason: 'shutdown' });
          return;
        }
        let result = outcome;
        if (outcome.giveBack) {
          // The project remote stayed out of reach before the run could start: nothing is known about the task, so
          // it goes back to the queue (the next attempt, here or on a node that reaches the remote) rather than
          // failing for good. A release uses up the attempt all the same (docs/PROTOCOL.md §5a): at the last one
          // the task fails, and the holder says why rather than leave it to a reap that could not.
          // Whether this is the last attempt is decided by the release from the snapshot it commits on: a maxAttempts
          // changed in gitbus.yaml since this watcher last read it would otherwise release the last attempt (whose
          // reap cannot say why) or fail one the bus would still allow.
          let max: number;
          try {
            const r = await release(ctx, task.id, outcome.giveBack, undefined, { keepLast: true });
            if (r.released) {
              // Else this node, ranked first for it, would take it straight back and spend every attempt waiting.
              deps.stepAside(task.id);
              opts.onEvent({ type: 'released', id: task.id, attempt: task.attempt, reason: outcome.giveBack });
              return;
            }
            max = r.maxAttempts;
          } catch (err) {
            // Not given back (the bus out of reach too): the orphan check releases a claim this watcher neither
            // runs nor has a result for (watcher/housekeeping.ts), so the task is not lost either way — unless it is
            // the last attempt as this watcher last saw the settings: its answer waits in the outbox instead, since
            // a release there would leave the task to a reap that cannot say why.
            max = deps.maxAttempts();
            if (task.attempt < max) {
              report(err);
              return;
            }
          }
          result = { ...outcome, reason: `${outcome.reason ?? outcome.giveBack}; attempt ${task.attempt} was the last of ${max} allowed, so the task was not given back` };
        }
        const entry = outboxEntryFor(task, result, self.cancelledBy);
        // The result is safe on disk before the push is tried (or, on a full disk, held in memory and retried);
        // `deliver` removes it once the remote has it.
        deps.delivery.queue(entry);
        await deps.delivery.deliver(entry, true);
        finished.push({ id: task.id, attempt: task.attempt, status: result.status, exitCode: result.exitCode });
        opts.onEvent({ type: 'finished', id: task.id, attempt: task.attempt, status: outcome.status, exitCode: outcome.exitCode, durationMs });
      } catch (err) {
        report(err);
      } finally {
        forgetRunning(home, task.id, task.attempt);
        dropReservation(home, task.id, task.attempt);
        early.forget(task.id, task.attempt);
        pruneProgress(home, new Set([...running.values()].filter((r) => r !== self).map((r) => `${r.task.id}.${r.task.attempt}`)));
      }
    })().finally(() => {
      // Only this run's entry: the same task claimed again meanwhile (released, then claimed) is another run.
      if (running.get(task.id) === self) running.delete(task.id);
      // A free slot is a reason to look for more work now rather than at the next tick.
      if (!opts.once && !opts.stop.aborted) deps.wake('slot');
    });
    self.done = done;
    running.set(task.id, self);
  };
  return { start };
}

/** The handoff as the daily cap reserves it: with the policy's budget when the task asked for none. Pure. */
function budgeted(task: ClaimResult): ClaimResult['handoff'] {
  const cap = task.policy?.ok ? task.policy.caps.budgetUsd : undefined;
  if (cap === undefined) return task.handoff;
  return { ...task.handoff, claude: { ...task.handoff.claude, maxBudgetUsd: cap } };
}

/** How long a shutdown waits for a stopped project task's branch to reach its remote. */
const SHUTDOWN_PUSH_MS = 20_000;
