import { CronJob } from 'cron';
import type { BusContext } from '../bus/context.js';
import { NothingClaimableError } from '../bus/errors.js';
import { claim, type ClaimResult } from '../bus/ops/claim.js';
import { publishHeartbeat } from '../bus/ops/heartbeat.js';
import { currentSnapshot } from '../bus/ops/query.js';
import { reapExpired } from '../bus/ops/reap.js';
import { publishNodeCard } from '../bus/ops/node-card-publish.js';
import { dispatchDue } from '../bus/ops/schedule.js';
import { release } from '../bus/ops/release.js';
import { respond } from '../bus/ops/respond.js';
import { NoRunnersError } from './errors.js';
import { pollCron } from './poll-schedule.js';
import { wakeOnChange } from './wake-on-change.js';
import { logPathOf, outcomeSummary, RUNNERS, runTask } from './run-task.js';
import { readTail } from './runners/output-tail.js';
import type { RunOutcome } from './runners/runner.js';
import { forgetRunning, killLeftover, listRunning, recordRunning } from './running-record.js';
import { listOutbox, putOutbox, rejectOutbox, removeOutbox, type OutboxEntry } from './outbox.js';

export type WatchEvent =
  | { type: 'started'; node: string; runners: string[]; parallel: number; pollMs: number | null; heartbeatMs: number }
  | { type: 'claimed'; id: string; attempt: number; title: string; reclaimed: boolean }
  | { type: 'finished'; id: string; attempt: number; status: RunOutcome['status']; exitCode: number | null; durationMs: number }
  | { type: 'released'; id: string; attempt: number; reason: string }
  | { type: 'reaped'; id: string; status: string; reason: string }
  | { type: 'scheduled'; id: string; template: string; due: string }
  | { type: 'queued'; id: string; attempt: number; reason: string }
  | { type: 'delivered'; id: string; attempt: number; status: string }
  | { type: 'rejected'; id: string; attempt: number; reason: string; path: string }
  | { type: 'error'; message: string; code: string | null }
  | { type: 'stopped' };

export interface WatchOptions {
  /** Claim what may be claimed, run it to the end, report, and return. */
  once: boolean;
  /** How often to check the remote when nothing else wakes the watcher (default 30 s; the CLI passes the bus setting). */
  pollMs?: number;
  /** How often to prove this node is alive (default: the bus setting `heartbeat`). */
  heartbeatMs?: number;
  /** Aborted to shut down: no new claims; running tasks get `graceMs` to finish, then are stopped and released. */
  stop: AbortSignal;
  /** Wake at once on local changes (a push to a local remote, a commit in this node's clone). Default true. */
  watchFiles?: boolean;
  graceMs?: number;
  onEvent: (e: WatchEvent) => void;
}

export interface FinishedTask {
  id: string;
  attempt: number;
  status: RunOutcome['status'];
  exitCode: number | null;
}

interface Running {
  task: ClaimResult;
  cancel: AbortController;
  done: Promise<void>;
}

/**
 * The watcher: claims tasks this node may run (runner enabled, labels, addressed to it or to any, dependencies
 * met, or reclaimed from a node that went silent) by priority then age, up to its parallel limit, runs them and
 * pushes the responses. It heartbeats on its own ref while it lives and stops runs that are cancelled.
 */
export async function watch(ctx: BusContext, opts: WatchOptions): Promise<FinishedTask[]> {
  const runners = ctx.config.runners.filter((r) => RUNNERS[r]);
  if (runners.length === 0) throw new NoRunnersError(ctx.config.node, ctx.paths.home);
  const home = ctx.paths.home;
  const finished: FinishedTask[] = [];
  const running = new Map<string, Running>();
  const kill = new AbortController();
  const stopped = new Promise<void>((resolve) => (opts.stop.aborted ? resolve() : opts.stop.addEventListener('abort', () => resolve(), { once: true })));
  let draining: Promise<void> | null = null;
  const report = (err: unknown) => opts.onEvent({ type: 'error', message: (err as Error).message?.split('\n')[0] ?? String(err), code: (err as { code?: string }).code ?? null });

  const settings = (await currentSnapshot(ctx)).settings;
  const heartbeatMs = opts.heartbeatMs ?? settings.heartbeatMs;

  const beat = async () => {
    const tasks = await Promise.all([...running.values()].map(async (r) => ({ id: r.task.id, attempt: r.task.attempt, tail: await readTail(logPathOf(ctx, r.task.id, r.task.attempt), 4 * 1024) })));
    await publishHeartbeat(ctx, tasks);
  };

  /** Pushes one queued result; keeps it queued while the remote is unreachable. */
  const deliver = async (entry: OutboxEntry): Promise<void> => {
    try {
      await respond(ctx, entry.input);
      removeOutbox(home, entry.id, entry.attempt);
      opts.onEvent({ type: 'delivered', id: entry.id, attempt: entry.attempt, status: entry.input.status });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (code === 'TASK_STATE' && (await alreadyDelivered(entry))) {
        // Pushed before a crash kept us from removing it from the outbox: delivered, not doubled.
        removeOutbox(home, entry.id, entry.attempt);
        opts.onEvent({ type: 'delivered', id: entry.id, attempt: entry.attempt, status: entry.input.status });
      } else if (code === 'TASK_STATE' || code === 'UNKNOWN_TASK') {
        const path = rejectOutbox(home, entry, (err as Error).message.split('\n')[0] ?? code);
        opts.onEvent({ type: 'rejected', id: entry.id, attempt: entry.attempt, reason: (err as Error).message.split('\n')[0] ?? code, path });
      } else {
        opts.onEvent({ type: 'queued', id: entry.id, attempt: entry.attempt, reason: (err as Error).message.split('\n')[0] ?? String(err) });
      }
    }
  };
  const alreadyDelivered = async (entry: OutboxEntry): Promise<boolean> => {
    const v = await (await currentSnapshot(ctx)).view(entry.id);
    return v?.response?.node === ctx.config.node && v.response.attempt === entry.attempt;
  };
  let flushing: Promise<void> | null = null;
  const flushOutbox = () => {
    flushing ??= (async () => {
      for (const entry of listOutbox(home)) if (!running.has(entry.id)) await deliver(entry);
    })().finally(() => (flushing = null));
    return flushing;
  };

  /** Stops the runs whose task was cancelled, and ends tasks of silent nodes that nobody may take over. */
  const housekeeping = async () => {
    await flushOutbox();
    if (running.size > 0) {
      const snap = await currentSnapshot(ctx);
      for (const r of running.values()) if (snap.index.tasks.get(r.task.id)?.cancel) r.cancel.abort();
    }
    for (const x of await reapExpired(ctx)) opts.onEvent({ type: 'reaped', id: x.id, status: x.status, reason: x.reason });
    for (const x of await dispatchDue(ctx)) opts.onEvent({ type: 'scheduled', id: x.id, template: x.template, due: x.due });
  };

  const start = (task: ClaimResult) => {
    opts.onEvent({ type: 'claimed', id: task.id, attempt: task.attempt, title: task.title, reclaimed: task.reclaimed !== null });
    const cancel = new AbortController();
    const abort = AbortSignal.any([cancel.signal, kill.signal]);
    const done = (async () => {
      const outcome = await runTask(ctx, task, abort, (pid) => recordRunning(home, { id: task.id, attempt: task.attempt, pid }));
      const durationMs = outcome.finished.getTime() - outcome.started.getTime();
      try {
        if (outcome.status === 'cancelled' && kill.signal.aborted && !cancel.signal.aborted) {
          // Stopped by our own shutdown, not by a cancel: give it back for another node.
          await release(ctx, task.id, 'the watcher shut down before the task finished');
          opts.onEvent({ type: 'released', id: task.id, attempt: task.attempt, reason: 'shutdown' });
          return;
        }
        const entry: OutboxEntry = {
          id: task.id,
          attempt: task.attempt,
          queuedAt: new Date().toISOString(),
          input: {
            id: task.id,
            status: outcome.status,
            summary: outcomeSummary(task, outcome),
            output: outcome.outputTail,
            exitCode: outcome.exitCode,
            started: outcome.started.toISOString(),
            durationMs,
            ...(outcome.reason ? { reason: outcome.reason } : {}),
            ...(outcome.resultText !== undefined ? { results: outcome.resultText } : {}),
            ...(outcome.claude ? { claude: outcome.claude } : {}),
            ...(outcome.icecc ? { icecc: outcome.icecc } : {}),
          },
        };
        // The result is safe on disk before the push is tried; `deliver` removes it once the remote has it.
        putOutbox(home, entry);
        await deliver(entry);
        finished.push({ id: task.id, attempt: task.attempt, status: outcome.status, exitCode: outcome.exitCode });
        opts.onEvent({ type: 'finished', id: task.id, attempt: task.attempt, status: outcome.status, exitCode: outcome.exitCode, durationMs });
      } catch (err) {
        report(err);
      } finally {
        forgetRunning(home, task.id, task.attempt);
      }
    })().finally(() => {
      running.delete(task.id);
      // A free slot is a reason to look for more work now rather than at the next tick.
      if (!opts.once && !opts.stop.aborted) void wake();
    });
    running.set(task.id, { task, cancel, done });
  };

  /** Fills free slots with claims until nothing is claimable, and (with `untilIdle`) waits for the runs. */
  const drain = async (untilIdle: boolean): Promise<void> => {
    for (;;) {
      let claimable = true;
      while (!opts.stop.aborted && running.size < ctx.config.parallel) {
        try {
          start(await claim(ctx, { next: true, runners }));
        } catch (err) {
          claimable = false;
          if (!(err instanceof NothingClaimableError)) report(err);
          break;
        }
      }
      if (running.size === 0 || opts.stop.aborted || (!untilIdle && !claimable)) return;
      // Wake when a slot frees, or at once on shutdown (the grace period is handled below).
      await Promise.race([...[...running.values()].map((r) => r.done), stopped]);
    }
  };
  // Housekeeping (cancels above all) runs on every wake, even while all slots are busy and the drain is
  // waiting for a run to end: a cancel pushed to a local remote is acted on within moments, not at the next beat.
  let keeping: Promise<void> | null = null;
  const keepHouse = () => (keeping ??= housekeeping().catch(report).finally(() => (keeping = null)));
  // A wake that arrives while a drain runs is remembered and served when it ends, so no change is missed.
  let wakeAgain = false;
  const wake = (): Promise<void> => {
    void keepHouse();
    if (draining) {
      wakeAgain = true;
      return draining;
    }
    draining = (async () => {
      do {
        wakeAgain = false;
        await keepHouse();
        await drain(false);
      } while (wakeAgain && !opts.stop.aborted);
    })().finally(() => (draining = null));
    return draining;
  };

  // Results queued before a crash or while the remote was down go first: recovery must not release claims
  // whose results are only waiting to be pushed.
  await flushOutbox().catch(report);
  await recoverLeftovers(ctx, opts);
  await publishNodeCard(ctx).catch(report);
  await beat().catch(report);
  const heartbeat = setInterval(() => {
    void beat().catch(report);
    if (running.size > 0) void housekeeping().catch(report);
    else void flushOutbox().catch(report);
  }, heartbeatMs);
  opts.onEvent({ type: 'started', node: ctx.config.node, runners, parallel: ctx.config.parallel, pollMs: opts.once ? null : (opts.pollMs ?? 30_000), heartbeatMs });
  try {
    if (opts.once) {
      await housekeeping().catch(report);
      await drain(true);
      opts.onEvent({ type: 'stopped' });
      return finished;
    }
    // Not waitForCompletion: a tick during a long drain must still reach wake(), which only queues the drain.
    const job = CronJob.from({ cronTime: pollCron(opts.pollMs ?? 30_000), onTick: () => void wake(), start: true, errorHandler: report });
    const files = opts.watchFiles === false ? null : wakeOnChange({ clone: ctx.paths.clone, remote: ctx.repo.localRemotePath() }, () => void wake());
    await wake();
    await stopped;
    await job.stop();
    await files?.close();
    await draining;
    if (running.size > 0) {
      const all = Promise.all([...running.values()].map((r) => r.done)).then(() => 'done' as const);
      const grace = new Promise<'grace'>((r) => setTimeout(() => r('grace'), opts.graceMs ?? 30_000).unref());
      if ((await Promise.race([grace, all])) === 'grace') kill.abort();
      await all;
    }
    opts.onEvent({ type: 'stopped' });
    return finished;
  } finally {
    clearInterval(heartbeat);
  }
}

/**
 * After a crash: runs recorded in the home whose watcher is gone are stopped, and every claim this node's
 * watcher holds is released (at start-up this process runs nothing), so those tasks go back to the queue at
 * once; waiting for the lease would not help, since this node's heartbeat is alive again. Claims a person made
 * on this node (`by` is their name, not `watcher`) are theirs to keep.
 */
async function recoverLeftovers(ctx: BusContext, opts: WatchOptions): Promise<void> {
  for (const r of listRunning(ctx.paths.home)) {
    killLeftover(r.pid);
    forgetRunning(ctx.paths.home, r.id, r.attempt);
  }
  const snap = await currentSnapshot(ctx);
  for (const id of snap.ids()) {
    const v = await snap.view(id);
    if ((v?.state !== 'claimed' && v?.state !== 'cancelling') || v.claim?.node !== ctx.config.node || v.claim.data?.by !== WATCHER_ACTOR) continue;
    if (listOutbox(ctx.paths.home).some((e) => e.id === id)) continue;
    try {
      await release(ctx, id, 'the watcher restarted; the earlier run was lost');
      opts.onEvent({ type: 'released', id, attempt: v.claim.attempt, reason: 'restart' });
    } catch (err) {
      opts.onEvent({ type: 'error', message: String((err as Error).message).split('\n')[0] ?? '', code: (err as { code?: string }).code ?? null });
    }
  }
}

/** The `by` of claims a watcher makes (BusContext.actor when the CLI opens the bus for `gitbus watch`). */
export const WATCHER_ACTOR = 'watcher';
