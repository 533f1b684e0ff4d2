import { CronJob } from 'cron';
import type { BusContext } from '../bus/context.js';
import { NothingClaimableError } from '../bus/errors.js';
import { claim, type ClaimResult } from '../bus/ops/claim.js';
import { release } from '../bus/ops/release.js';
import { respond } from '../bus/ops/respond.js';
import { NoRunnersError } from './errors.js';
import { pollCron } from './poll-schedule.js';
import { outcomeSummary, RUNNERS, runTask } from './run-task.js';
import type { RunOutcome } from './runners/runner.js';

export type WatchEvent =
  | { type: 'started'; node: string; runners: string[]; parallel: number; pollMs: number | null }
  | { type: 'claimed'; id: string; attempt: number; title: string }
  | { type: 'finished'; id: string; attempt: number; status: RunOutcome['status']; exitCode: number | null; durationMs: number }
  | { type: 'released'; id: string; attempt: number; reason: string }
  | { type: 'error'; message: string; code: string | null }
  | { type: 'stopped' };

export interface WatchOptions {
  /** Claim what may be claimed, run it to the end, report, and return. */
  once: boolean;
  /** How often to check the remote when nothing else wakes the watcher (default: the bus setting `poll`). */
  pollMs?: number;
  /** Aborted to shut down: no new claims; running tasks get `graceMs` to finish, then are stopped and released. */
  stop: AbortSignal;
  graceMs?: number;
  onEvent: (e: WatchEvent) => void;
}

export interface FinishedTask {
  id: string;
  attempt: number;
  status: RunOutcome['status'];
  exitCode: number | null;
}

/**
 * The watcher: claims tasks this node may run (runner enabled, labels, addressed to it or to any, dependencies
 * met) by priority then age, up to its parallel limit, runs them and pushes the responses.
 */
export async function watch(ctx: BusContext, opts: WatchOptions): Promise<FinishedTask[]> {
  const runners = ctx.config.runners.filter((r) => RUNNERS[r]);
  if (runners.length === 0) throw new NoRunnersError(ctx.config.node, ctx.paths.home);
  const finished: FinishedTask[] = [];
  const running = new Map<string, Promise<void>>();
  const kill = new AbortController();
  let draining: Promise<void> | null = null;
  const stopped = new Promise<void>((resolve) => (opts.stop.aborted ? resolve() : opts.stop.addEventListener('abort', () => resolve(), { once: true })));

  const report = (err: unknown) => opts.onEvent({ type: 'error', message: (err as Error).message?.split('\n')[0] ?? String(err), code: (err as { code?: string }).code ?? null });

  const start = (task: ClaimResult) => {
    opts.onEvent({ type: 'claimed', id: task.id, attempt: task.attempt, title: task.title });
    const job = (async () => {
      const outcome = await runTask(ctx, task, kill.signal);
      const durationMs = outcome.finished.getTime() - outcome.started.getTime();
      try {
        if (outcome.status === 'cancelled' && kill.signal.aborted) {
          // Stopped by our own shutdown, not by a cancel: give it back for another node.
          await release(ctx, task.id, 'the watcher shut down before the task finished');
          opts.onEvent({ type: 'released', id: task.id, attempt: task.attempt, reason: 'shutdown' });
          return;
        }
        await respond(ctx, {
          id: task.id,
          status: outcome.status,
          summary: outcomeSummary(task, outcome),
          output: outcome.outputTail,
          exitCode: outcome.exitCode,
          started: outcome.started.toISOString(),
          durationMs,
          ...(outcome.reason ? { reason: outcome.reason } : {}),
        });
        finished.push({ id: task.id, attempt: task.attempt, status: outcome.status, exitCode: outcome.exitCode });
        opts.onEvent({ type: 'finished', id: task.id, attempt: task.attempt, status: outcome.status, exitCode: outcome.exitCode, durationMs });
      } catch (err) {
        report(err);
      }
    })().finally(() => {
      running.delete(task.id);
      // A free slot is a reason to look for more work now rather than at the next tick.
      if (!opts.once && !opts.stop.aborted) void wake();
    });
    running.set(task.id, job);
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
      // Wake when a slot frees, or at once on shutdown (the grace period is handled by the caller).
      await Promise.race([...running.values(), stopped]);
    }
  };
  const wake = () => {
    draining ??= drain(false).finally(() => (draining = null));
    return draining;
  };

  const pollMs = opts.pollMs ?? null;
  opts.onEvent({ type: 'started', node: ctx.config.node, runners, parallel: ctx.config.parallel, pollMs: opts.once ? null : pollMs });
  if (opts.once) {
    await drain(true);
    opts.onEvent({ type: 'stopped' });
    return finished;
  }

  const job = CronJob.from({ cronTime: pollCron(pollMs ?? 30_000), onTick: wake, waitForCompletion: true, start: true, errorHandler: report });
  await wake();
  await stopped;
  await job.stop();
  await draining;
  if (running.size > 0) {
    const grace = new Promise<'grace'>((r) => setTimeout(() => r('grace'), opts.graceMs ?? 30_000).unref());
    const all = Promise.all(running.values()).then(() => 'done' as const);
    if ((await Promise.race([grace, all])) === 'grace') kill.abort();
    await Promise.all(running.values());
  }
  opts.onEvent({ type: 'stopped' });
  return finished;
}
