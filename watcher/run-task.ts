import { statSync } from 'node:fs';
import { join } from 'node:path';
import { effectiveRunner } from '../schemas/field-limits.js';
import { formatDuration, parseDuration } from '../schemas/duration.js';
import type { BusContext } from '../bus/context.js';
import { namedRootsOf, workRootOf, type NodeConfig } from '../bus/home.js';
import type { PolicyCaps, PolicyRefusal } from '../bus/model/node-policy.js';
import type { ClaimResult } from '../bus/ops/claim.js';
import type { RunLog, RunOutcome, RunRequest, Runner } from './runners/runner.js';
import { runGuarded, runLocked, runProjectTask } from './workspace/run-project-task.js';
import { sessionLockKey } from './workspace/run-lock.js';
import { claudeRunner, READABLE_WINDOW } from './runners/claude.js';
import { OUTPUT_TAIL_BYTES } from './runners/output-tail.js';
import type { SpendLimit } from './runners/claude-args.js';
import { iceccRunner } from './runners/icecc.js';
import { shellRunner } from './runners/shell.js';
import { tmuxRunner } from './runners/tmux.js';
import { taskDir } from './task-dir.js';
import { asLocalFailure } from '../bus/local-io.js';
import { firstLine } from '../schemas/errors.js';
import { failedToStart } from './runners/process-group.js';
import type { FetchWait } from './workspace/fetch-retry.js';

/** The merge runner works on a project (watcher/workspace/merge-task.ts); a merge task without one cannot run. */
const mergeOnlyWithRepo: Runner = { run: async () => failedToStart(new Date(), 'the merge runner merges branches of a project, and the task names no "repo"') };

/** Runners this version can run; a node's settings choose among them. */
export const RUNNERS: Partial<Record<string, Runner>> = { shell: shellRunner, tmux: tmuxRunner, claude: claudeRunner, icecc: iceccRunner, merge: mergeOnlyWithRepo };

export function logPathOf(ctx: BusContext, id: string, attempt: number): string {
  return join(ctx.paths.logs, `${id}.${attempt}.log`);
}

/**
 * The run's log as its response names it: its size, and whether the response's output is made from only its end
 * (a claude run's readable lines from its last READABLE_WINDOW, any other runner's from its last OUTPUT_TAIL_BYTES).
 * Undefined when the run left no log (it never started).
 */
export function runLog(path: string, runner: string): RunLog | undefined {
  let bytes: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) return undefined;
    bytes = st.size;
  } catch {
    return undefined;
  }
  return { path, bytes, cut: bytes > (runner === 'claude' ? READABLE_WINDOW : OUTPUT_TAIL_BYTES) };
}

/** Where a run sits among the node's runs, for a project's `{slot}` (ports per run), and how its start waits for a project remote. */
export interface RunPlace {
  slot: number;
  fetchWait?: FetchWait;
}

/** Runs one claimed task to its end. Never throws: a task that cannot run is a failed outcome with the reason. */
export async function runTask(ctx: BusContext, task: ClaimResult, abort: AbortSignal, onStart?: (pid: number) => void, place: RunPlace = { slot: 0 }, spend?: SpendLimit): Promise<RunOutcome> {
  const ran = await runClaimed(ctx, task, abort, onStart, place, spend);
  // Only output that was read from the log can be its end: a run that failed before (or without) reading it says
  // nothing about the log's size above an empty Output.
  const log = ran.outputTail === '' ? undefined : runLog(logPathOf(ctx, task.id, task.attempt), effectiveRunner(task.handoff));
  const outcome = log ? { ...ran, log: ran.logLoss ? { ...log, loss: ran.logLoss } : log } : ran;
  const capMs = task.handoff.timeout === undefined && task.policy?.ok ? task.policy.caps.timeoutMs : undefined;
  // A task that gave no timeout and ran out of the node's: say whose limit it was.
  if (outcome.status === 'timed-out' && capMs !== undefined) return { ...outcome, reason: `${outcome.reason ? `${outcome.reason}: ` : ''}the task gave no timeout, and node ${ctx.config.node}'s policy.maxTimeout is ${formatDuration(capMs)}` };
  return outcome;
}

async function runClaimed(ctx: BusContext, task: ClaimResult, abort: AbortSignal, onStart: ((pid: number) => void) | undefined, place: RunPlace, spend: SpendLimit | undefined): Promise<RunOutcome> {
  const started = new Date();
  const fail = (reason: string): RunOutcome => ({ status: 'failed', exitCode: null, started, finished: new Date(), outputTail: '', reason });
  // The node's policy refused it (a task addressed to this node is claimed only to say so): nothing runs.
  if (task.policy && !task.policy.ok) return fail(policyRefusal(ctx.config.node, task.policy));
  const caps = task.policy?.caps ?? {};
  const runnerName = effectiveRunner(task.handoff);
  const runner = RUNNERS[runnerName];
  if (!runner) return fail(`runner "${runnerName}" is not available on node ${ctx.config.node}`);
  const timeoutMs = task.handoff.timeout ? parseDuration(task.handoff.timeout) : caps.timeoutMs;
  const env = { GITBUS_HOME: ctx.paths.home, GITBUS_NODE: ctx.config.node };
  const session = task.session ? { id: task.session, resume: task.handoff.claude?.resume === task.session } : undefined;
  const req: RunRequest = { id: task.id, attempt: task.attempt, handoff: task.handoff, body: task.body, cwd: '', logPath: logPathOf(ctx, task.id, task.attempt), node: cappedConfig(ctx.config, caps), env, ...(timeoutMs ? { timeoutMs } : {}), ...(onStart ? { onStart } : {}), ...(session ? { session } : {}), ...(spend ? { spend } : {}) };
  if (task.handoff.repo !== undefined) {
    try {
      return await runProjectTask(ctx, task, runner, req, abort, place);
    } catch (err) {
      // Its own file work failing (a full disk under the log): the task fails, the watcher goes on.
      const now = new Date();
      return { status: 'failed', exitCode: null, started: now, finished: now, outputTail: '', reason: `could not run the project task on ${ctx.config.node}: ${firstLine(asLocalFailure(err, ctx.paths.home))}` };
    }
  }
  const dir = taskDir(workRootOf(ctx.paths.home, ctx.config), task.handoff.workdir, namedRootsOf(ctx.paths.home, ctx.config));
  if ('reason' in dir) return fail(dir.reason);
  const inDir = { ...req, cwd: dir.cwd };
  // A claude session outside a project lives in its folder: one run per session at a time (run-lock.ts).
  if (task.session && runnerName === 'claude') return runLocked(sessionLockKey(ctx.paths.home, task.session), inDir, abort, `claude session ${task.session}`, () => runGuarded(ctx, runner, inDir, abort));
  return runGuarded(ctx, runner, inDir, abort);
}

/** The response's reason for a task the node's policy refused. Pure. */
export function policyRefusal(node: string, refusal: PolicyRefusal): string {
  // An untrusted handoff (bus/trust/enforce.ts): its reason already starts with `untrusted:`.
  if (refusal.fields.includes('trust')) return `refused: ${refusal.reason}; nothing was run (${refusal.fix})`;
  return `refused by node ${node}'s policy, nothing was run: ${refusal.reason} (${refusal.fix})`;
}

/**
 * The node's settings as a run sees them: a policy's budget cap (a claude task that asked for none) lowers what the
 * node grants claude, so the runner passes it as --max-budget-usd and the daily cap reserves it. Pure.
 */
export function cappedConfig(config: NodeConfig, caps: PolicyCaps): NodeConfig {
  if (caps.budgetUsd === undefined) return config;
  const granted = config.claude?.maxBudgetUsd;
  return { ...config, claude: { ...config.claude, maxBudgetUsd: granted === undefined ? caps.budgetUsd : Math.min(granted, caps.budgetUsd) } };
}

/** Who cancelled a run and why, from the task's cancel file. */
export interface CancelledBy {
  by: string;
  reason?: string;
}

/** The response's reason for a run stopped by a cancel: who cancelled it and why, then how the runner stopped. Pure. */
export function cancelReason(c: CancelledBy, runnerReason: string | undefined): string {
  return `cancelled by ${c.by}${c.reason ? `: ${c.reason}` : ''}${runnerReason ? ` (${runnerReason})` : ''}`;
}

/** The response's summary line, for people skimming results. Pure. */
export function outcomeSummary(task: ClaimResult, o: RunOutcome, cancelledBy?: CancelledBy): string {
  const secs = ((o.finished.getTime() - o.started.getTime()) / 1000).toFixed(1);
  const what = task.handoff.command ? `\`${task.handoff.command.split('\n')[0]}\`` : task.title;
  switch (o.status) {
    case 'succeeded':
      return `${what} succeeded in ${secs} s.`;
    case 'timed-out':
      return `${what} timed out after ${secs} s.`;
    case 'cancelled':
      return `${what} was cancelled after ${secs} s${cancelledBy ? ` by ${cancelledBy.by}${cancelledBy.reason ? `: ${cancelledBy.reason}` : ''}` : ''}.`;
    default:
      return `${what} failed${o.reason ? `: ${o.reason}` : ''}.`;
  }
}
