import type { BusContext } from '../bus/context.js';
import type { TaskOutput } from '../bus/ops/task-output.js';
import { waitForTask, type WaitResult } from '../watcher/wait-for-task.js';
import type { LogNotShown } from '../watcher/output-follow.js';
import { InputError } from '../bus/errors.js';
import { EXIT } from './exit-codes.js';
import { note } from './output.js';
import { truncationFields, truncationNote } from './output-note.js';
import { dependencyResults } from '../bus/ops/dependency-results.js';
import { localSnapshot } from '../bus/ops/query.js';
import { whyPending } from '../bus/ops/takers-liveness.js';
import { projectEndWarnings } from '../bus/project/push-state.js';
import { defaultBranch, type ProjectReport } from '../schemas/project.js';

/**
 * `--wait`: until the task ends, or for at most `timeoutMs` (`--wait-timeout`; Ctrl-C stops the waiting too),
 * reporting each change of state and each progress line, and with `onOutput` the output as it grows
 * (watcher/wait-for-task.ts). Returns the last output, whether the task ended, and what of this node's log was not
 * printed. The last output has its text only without `onOutput` (`--json`, which reports it at the end): one that
 * printed the output as it came needs no more than where the task stands.
 */
export async function waitForEnd(ctx: BusContext, id: string, onProgress: (line: string) => void, onOutput?: (text: string) => void, timeoutMs = Number.POSITIVE_INFINITY): Promise<WaitResult> {
  return waitForTask(ctx, id, {
    timeoutMs,
    signal: new AbortController().signal,
    onState: async (line) => onProgress(line),
    onOutput: async (text) => onOutput?.(text),
    text: onOutput === undefined,
  });
}

/** `--wait-timeout` without `--wait`: nothing would wait. */
export function refuseLoneWaitTimeout(opts: { wait?: boolean; waitTimeout?: string }): void {
  if (opts.waitTimeout !== undefined && !opts.wait) throw new InputError('--wait-timeout goes with --wait', 'add --wait, or leave out --wait-timeout', { flag: '--wait-timeout' });
}

/**
 * When `--wait-timeout` ran out before the task ended: says so (the task is not stopped, only the waiting) and sets
 * exit code 11, or 6 when the remote could not be reached at the end (then the last state is this node's old view).
 * True when it did, so that the caller prints nothing more.
 */
export function timedOut(waited: { out: TaskOutput; ended: boolean }, id: string, after: string | undefined, why: string | null = null): boolean {
  if (waited.ended) return false;
  if (waited.out.offline) {
    note(`gitbus: stopped waiting after ${after ?? ''}: the remote cannot be reached (${waited.out.offline.reason}), so how ${id} went is not known here; this node last saw it ${waited.out.state}. Look again with "gitbus show ${id}" once the remote is back`);
    process.exitCode = EXIT.remote;
    return true;
  }
  note(`gitbus: stopped waiting after ${after ?? ''}: ${id} is ${waited.out.state}, and goes on; follow it with "gitbus logs ${id} --follow", or end it with "gitbus cancel ${id}"`);
  if (why) note(`gitbus: ${id} waits: ${why}`);
  process.exitCode = EXIT.waitTimedOut;
  return true;
}

/**
 * Why a task a wait gave up on is still pending, as `status` says it under the task (`waits:`): the nodes that may
 * take it are down, or none may; null when it ended, is not pending, or the remote could not be reached.
 */
export async function stillWaits(ctx: BusContext, waited: { out: TaskOutput; ended: boolean }, id: string): Promise<string | null> {
  if (waited.ended || waited.out.offline || waited.out.state !== 'pending') return null;
  return whyPending(ctx, await localSnapshot(ctx), id);
}

/** What `--json` of a wait adds about the end: why it did not succeed (null for a success or a wait cut short) and whether the output is all of it. */
export function endFields(waited: { out: TaskOutput; ended: boolean }): Record<string, unknown> {
  return { reason: waited.ended ? waited.out.reason : null, ...truncationFields(waited.out) };
}

/**
 * After an ended wait, for `dispatch --wait` and `resume --wait`: says on stderr when the output shown was only its
 * end (of this node's log, what was not printed: `notShown`), where a project task's results are when that is not
 * the branch announced or not the project remote (`end`), and why the task did not succeed (the last state line
 * names only the state, node and attempt), and sets exit code 9 then. Results not pushed, or pushed beside the
 * branch, leave a success exit 0: the run succeeded, the node pushes them until the remote takes them, and a
 * script that fetches them reads `project` in `--json` (`pushed`, `branch`) rather than the exit code.
 */
export function reportEnd(json: boolean, id: string, done: TaskOutput, notShown: LogNotShown | null, end: ProjectEnd | null = null): void {
  const cut = json ? null : truncationNote(done, notShown);
  if (cut) note(cut);
  warnProjectEnd(json, id, end);
  if (done.state === 'succeeded') return;
  // Why, as `show` and `run` say it.
  if (!json) note(`gitbus: ${id} ended ${done.state}${done.node ? ` on ${done.node}` : ''}${done.reason ? `: ${done.reason}` : ''}`);
  process.exitCode = EXIT.taskEnded;
}

/**
 * On stderr, when a project task's results are not where its dispatch announced them (projectEndWarnings); nothing
 * with `--json`, whose `project` (projectOutcome) says it. For every command that waits for a task's end.
 */
export function warnProjectEnd(json: boolean, id: string, end: ProjectEnd | null): void {
  if (!json && end) for (const w of projectEndWarnings(id, end.asked, end.report, end.warnings)) note(`gitbus: warning: ${w}`);
}

/** Where a project task's results are once it ended: the branch the dispatch announced, and the response's report. */
export interface ProjectEnd {
  asked: string;
  report: ProjectReport;
  /** What the response's Branch section warns of about the branch (a result without its base, work left off it). */
  warnings?: string[];
}

/** The project outcome of an ended task, from its response (as this node now has it); null for a plain task, or one that reports none. */
export async function projectEnd(ctx: BusContext, id: string, waited: { ended: boolean }): Promise<ProjectEnd | null> {
  if (!waited.ended) return null;
  const [found] = await dependencyResults(ctx, [id]);
  return found?.report ? { asked: found.asked ?? defaultBranch(id), report: found.report, ...(found.warnings.length > 0 ? { warnings: found.warnings } : {}) } : null;
}

/**
 * `--json`'s `project` after a wait: what the dispatch announced, with the response's report over it (where the
 * results really are, `headCommit`, `pushed`, `pushError`, the diffstat), and `askedBranch` when they went beside
 * the branch announced. Pure.
 */
export function projectOutcome<T extends object>(announced: T | null, end: ProjectEnd | null): (T & Partial<ProjectReport> & { askedBranch?: string; warnings?: string[] }) | T | null {
  if (end === null) return announced;
  return { ...(announced ?? ({} as T)), ...end.report, ...(end.report.branch !== end.asked ? { askedBranch: end.asked } : {}), ...(end.warnings?.length ? { warnings: end.warnings } : {}) };
}
