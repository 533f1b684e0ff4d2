import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BusContext } from '../../bus/context.js';
import type { ClaimResult } from '../../bus/ops/claim.js';
import { asLocalFailure } from '../../bus/local-io.js';
import { firstLine } from '../../schemas/errors.js';
import { taskEnv, type RunOutcome, type RunRequest, type Runner } from '../runners/runner.js';
import { runShellCommand } from '../runners/shell.js';
import { addLoss, type LogLoss } from '../runners/log-keeper.js';
import { finishWorktree } from './results.js';
import { prepareWorktree } from './worktree.js';
import { refCommit } from './cache.js';
import { updateRecord, worktreeKeyFor } from './registry.js';
import { acquireRunLock, worktreeLockKey } from './run-lock.js';
import { mergeTask } from './merge-task.js';
import { checkMerged, missingReason } from './merge-check.js';
import { unstarted, type FetchWait } from './fetch-retry.js';
import { inWorktree, WorktreeLostError } from './worktree-git.js';
import { setupMadeNow, untrackedEntries } from './commit-exclusions.js';
import { runStart } from './left-work.js';
import { recordLeftOut } from './left-record.js';

/** Runs a runner, turning anything it throws (a full disk under its log) into a failed outcome. */
export async function runGuarded(ctx: BusContext, runner: Runner, req: RunRequest, abort: AbortSignal): Promise<RunOutcome> {
  try {
    return await runner.run(req, abort);
  } catch (err) {
    const now = new Date();
    return { status: 'failed', exitCode: null, started: now, finished: now, outputTail: '', reason: `could not run the task on ${ctx.config.node}: ${firstLine(asLocalFailure(err, ctx.paths.home))}` };
  }
}

/**
 * Runs `work` once no other run of this node holds `lockKey` (run-lock.ts): the wait is noted in the task's log,
 * and a cancel or shutdown while waiting is a cancelled outcome without a run.
 */
/** A line for people in the task's log; the run goes on without it. */
function noteInLog(logPath: string, text: string): void {
  try {
    mkdirSync(dirname(logPath), { recursive: true });
    appendFileSync(logPath, text);
  } catch {
    // The log is for people; the run goes on without it.
  }
}

export async function runLocked(lockKey: string, req: RunRequest, abort: AbortSignal, where: string, work: () => Promise<RunOutcome>): Promise<RunOutcome> {
  const started = new Date();
  const release = await acquireRunLock(lockKey, req.id, abort, (holder) => noteInLog(req.logPath, `gitbus: waiting for task ${holder} to end: it runs in ${where}, and two runs there at once would share a claude session\n`));
  if (!release) return { status: 'cancelled', exitCode: null, started, finished: new Date(), outputTail: '', reason: `stopped while waiting for another run in ${where} to end` };
  try {
    return await work();
  } finally {
    release();
  }
}

/**
 * A task that names a project (docs/PROTOCOL.md §3a): its worktree is prepared (fetch, worktree on the result
 * branch, the project's files and setup), the runner runs inside it, and what it left is committed and described
 * for the response; the branch is pushed by the outbox. The merge runner works on the cached clone alone.
 */
export async function runProjectTask(ctx: BusContext, task: ClaimResult, runner: Runner, req: RunRequest, abort: AbortSignal, place: { slot: number; fetchWait?: FetchWait }): Promise<RunOutcome> {
  if (task.handoff.runner === 'merge') return mergeTask(ctx, task, req.logPath, abort, place.fetchWait);
  // One run per worktree: a resume waits for the run (or a retried attempt) of the task it resumes.
  const key = worktreeKeyFor(ctx.paths.home, task.id, task.handoff.resumes);
  return runLocked(worktreeLockKey(ctx.paths.home, key), req, abort, `the worktree ${key}`, () => runInWorktree(ctx, task, runner, req, abort, place));
}

async function runInWorktree(ctx: BusContext, task: ClaimResult, runner: Runner, req: RunRequest, abort: AbortSignal, place: { slot: number; fetchWait?: FetchWait }): Promise<RunOutcome> {
  const started = new Date();
  const fail = (reason: string): RunOutcome => ({ status: 'failed', exitCode: null, started, finished: new Date(), outputTail: '', reason });
  let ws;
  try {
    const note = (line: string) => noteInLog(req.logPath, `${line}\n`);
    ws = await prepareWorktree({ home: ctx.paths.home, config: ctx.config, id: task.id, attempt: task.attempt, handoff: task.handoff, slot: place.slot, abort, note, ...(place.fetchWait ? { fetchWait: place.fetchWait } : {}), ...(task.session ? { session: task.session } : {}) });
  } catch (err) {
    return unstarted(err, started, abort, `could not prepare the project's worktree on ${ctx.config.node}`);
  }
  if (ws.skippedIncludes.length > 0) noteInLog(req.logPath, ws.skippedIncludes.map((s) => `gitbus: not copied from the project's checkout: ${s}\n`).join(''));
  const inTree: RunRequest = { ...req, cwd: ws.cwd, env: { ...req.env, ...ws.env } };
  // Before the setup command too: whatever moves HEAD in the worktree from here on is this task's.
  const start = await runStart(ws.record.path);
  let outcome: RunOutcome;
  const setup = ws.settings?.setup;
  // Once per worktree, until it succeeds: a worktree whose setup failed gets it again at the next run there.
  if (setup && (ws.created || ws.record.setupDone !== true)) {
    let s: RunOutcome;
    // What was untracked before (a worktree an earlier run left files in, whose project gained a setup since) is
    // not the setup's.
    const before = ws.created ? [] : await untrackedEntries(inWorktree(ws.record.path)).catch(() => null);
    try {
      s = await runShellCommand({ ...inTree, cwd: ws.record.path }, setup, taskEnv(inTree), abort);
    } catch (err) {
      s = fail(firstLine(asLocalFailure(err, ctx.paths.home)));
    }
    // Read before the run adds files of its own: what became untracked is the setup's. Also after a setup that
    // failed: the commit of what was left must not deliver a half-made setup as the task's work.
    const made = before === null ? [] : await untrackedEntries(inWorktree(ws.record.path)).catch((err: unknown) => {
      noteInLog(req.logPath, `gitbus: could not list what the setup made, so the task's commit may include it: ${firstLine(err)}\n`);
      return [];
    });
    const { setupMade, fresh } = setupMadeNow(ws.record.setupMade ?? [], made, before ?? [], ws.record.included ?? []);
    if (fresh > 0) noteInLog(req.logPath, `gitbus: the setup made ${fresh} untracked path(s) that .gitignore does not name; they are the node's, not the task's work, and gitbus leaves them out of the task's commit\n`);
    ws.record.setupMade = setupMade;
    updateRecord(ctx.paths.home, ws.record.key, (r) => ({ ...r, ...(s.status === 'succeeded' ? { setupDone: true } : {}), setupMade }));
    outcome = s.status === 'succeeded' ? withSetupLoss(await runGuarded(ctx, runner, inTree, abort), s.logLoss) : { ...s, status: s.status === 'cancelled' ? 'cancelled' : 'failed', reason: `the project's setup command \`${setup}\` ${s.reason ?? 'failed'}; the worktree is kept at ${ws.record.path}` };
  } else {
    outcome = await runGuarded(ctx, runner, inTree, abort);
  }
  try {
    const f = await finishWorktree({ ws, id: task.id, attempt: task.attempt, node: ctx.config.node, title: task.title, status: outcome.status, autoCommit: task.handoff.autoCommit ?? ws.settings?.autoCommit, start });
    for (const line of f.notes) noteInLog(req.logPath, `${line}\n`);
    // Kept with the worktree: prune keeps it while the commits are on a local branch and not on the project remote.
    updateRecord(ctx.paths.home, ws.record.key, (r) => recordLeftOut({ ...r, headCommit: f.report.headCommit }, task.id, f.left));
    // A follow-up that merges by hand (gitbus resolve): it resolved only if the branch holds every branch's result.
    const check = task.handoff.merge?.length ? await checkMerged(ctx, task, ws.cache.gitDir, f.report.headCommit, (line) => noteInLog(req.logPath, `${line}\n`)).catch((err: unknown) => firstLine(err)) : null;
    if (typeof check === 'string') {
      // Not known to be merged: not counted as resolved, and said as none merged.
      const why = `could not check which branches of "merge" ${f.report.branch} contains: ${check}`;
      noteInLog(req.logPath, `gitbus: ${why}\n`);
      f.report.merged = [];
      if (outcome.status === 'succeeded') outcome = { ...outcome, status: 'failed', reason: why };
    } else if (check) {
      noteInLog(req.logPath, `gitbus: ${f.report.branch} contains ${check.merged.length} of ${check.merged.length + check.missing.length} branches of "merge"${check.missing.length ? `; not ${check.missing.map((m) => m.branch).join(', ')}` : ''}\n`);
      f.report.merged = check.merged;
      if (check.missing.length > 0 && outcome.status === 'succeeded') outcome = { ...outcome, status: 'failed', reason: missingReason(f.report.branch, check) };
    }
    // A run that did not succeed (failed, timed out, or stopped by a cancel or this watcher's shutdown) and left the
    // branch at its base: pushing it would only put a branch holding nothing on the project remote, one per
    // failure. Nor a resolve follow-up (`merge`) that did not succeed, commits or not: its branch is the
    // integration's, on which the next resolve's worktree and the merge runner start when the remote has it, so a
    // later merge that adds nothing would call its half-done merge integrated. Not pushed, and the response says so
    // (pushedNothing: a resolve's `merged` tells it apart); the worktree stays, so a resume continues there. When the
    // remote already has the branch at that commit, the push is a no-op that says it is there.
    const resolve = check !== null;
    const said: Partial<RunOutcome> = {
      ...(f.uncommitted > 0 ? { uncommitted: f.uncommitted, ...(f.uncommittedWhy ? { uncommittedWhy: f.uncommittedWhy } : {}) } : {}),
      ...(f.baseMissing ? { baseMissing: true } : {}),
      ...(f.warnings.length > 0 ? { projectWarnings: f.warnings } : {}),
    };
    if (outcome.status !== 'succeeded' && (f.report.headCommit === f.report.baseCommit || resolve) && (await refCommit(ws.cache.gitDir, `refs/remotes/origin/${f.report.branch}`)) !== f.report.headCommit) {
      noteInLog(req.logPath, `gitbus: ${f.report.branch} not pushed: ${f.report.headCommit === f.report.baseCommit ? 'the run made no commit over its base' : 'the resolve did not succeed, so the integration\'s branch is left as it was'}\n`);
      return { ...outcome, project: f.report, projectStat: f.stat, ...said };
    }
    return { ...outcome, project: f.report, push: f.push, projectStat: f.stat, ...said };
  } catch (err) {
    // A worktree that is no worktree any more says where its files are itself, and what to do with them.
    const why = err instanceof WorktreeLostError ? `${firstLine(err)} on ${ctx.config.node} (fix: ${err.fix})` : `could not record the branch of the run: ${firstLine(err)}; the work is kept in ${ws.record.path} on ${ctx.config.node}`;
    return { ...outcome, status: outcome.status === 'succeeded' ? 'failed' : outcome.status, reason: outcome.reason ? `${outcome.reason}; ${why}` : why };
  }
}

/** A run after the project's setup, which wrote to the same log: what the log did not keep of either. Pure. */
function withSetupLoss(outcome: RunOutcome, setupLoss: LogLoss | undefined): RunOutcome {
  const loss = addLoss(setupLoss, outcome.logLoss);
  return loss ? { ...outcome, logLoss: loss } : outcome;
}
