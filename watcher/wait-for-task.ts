import type { BusContext } from '../bus/context.js';
import { isFinal } from '../bus/model/types.js';
import { taskOutput, withLogText, type TaskOutput } from '../bus/ops/task-output.js';
import { followOn, OutputFollower, type LogNotShown } from './output-follow.js';
import { deliverQueued } from '../bus/ops/deliver.js';
import { outageCode } from '../bus/remote-failure.js';
import { formatDuration } from '../schemas/duration.js';
import { deliveringText } from '../bus/ops/heartbeat.js';
import { InvalidTaskError } from '../bus/errors.js';
import { abortableSleep } from './abortable-sleep.js';
import { snapshotOrLast } from '../bus/ops/query.js';

export interface WaitOptions {
  /** How long to wait at most; 0 looks once. */
  timeoutMs: number;
  signal: AbortSignal;
  /** Each change of state, as a line (`ID: claimed on beta (attempt 1)`), as `dispatch --wait` says it. */
  onState(line: string): Promise<void>;
  /** Output the task printed since the last call. */
  onOutput(text: string): Promise<void>;
  /**
   * When nothing was reported for `everyMs`, where the task stands anyway (`stillLine`): an MCP client resets its
   * request timeout on each progress notification, so a quiet wait longer than that timeout is not given up on.
   */
  still?: { everyMs: number; report(line: string): Promise<void> };
  pollMs?: number;
  /**
   * Whether the `out` returned carries this node's log's text (MCP `wait`'s `output`, `--json`'s): then the log is
   * read once more at the end. Each poll only looks at the log, which the follower reads on by position; without the
   * text, `out` says where the task stands, and `notShown` what of the log the output reported leaves out. Default true.
   */
  text?: boolean;
}

/** How a wait ended: the task's last output (`text`), whether it ended, and what of this node's log was not reported. */
export interface WaitResult {
  out: TaskOutput;
  ended: boolean;
  /** Of this node's log of the run, what `onOutput` was not given (`truncationNote`); null when none was followed. */
  notShown: LogNotShown | null;
}

/**
 * Polls a task until it ends, the time is up or the call is cancelled, reporting changes of state, progress its
 * agent posts and new output (a claude run as readable lines) on the way: `dispatch --wait` (cli/wait.ts) and the
 * MCP `wait` tool. Once a second: a local remote answers from a file read, a remote one from a ref listing.
 */
export async function waitForTask(ctx: BusContext, ref: string, o: WaitOptions): Promise<WaitResult> {
  const start = Date.now();
  const end = start + o.timeoutMs;
  let reportedAt = start;
  const reported = () => (reportedAt = Date.now());
  let id = ref;
  let last = '';
  const follower = new OutputFollower();
  let progressAt: string | undefined;
  const done = async (out: TaskOutput, ended: boolean): Promise<WaitResult> => ({ out: o.text === false ? out : await withLogText(ctx, out), ended, notShown: follower.logNotShown });
  for (;;) {
    // Where the task stands, this node's log only looked at: the follower reads it on by position.
    let looked = await taskOutput(ctx, id, { logText: false });
    // Queued here, and the remote answers again: sent now, as any command of this node would, so the wait goes on.
    if (looked.state === 'queued' && !looked.offline && (await deliverQuietly(ctx))) looked = await taskOutput(ctx, id, { logText: false });
    // This node's log by position, so output that repeats itself is printed each time; another node's by its text.
    const { out, step } = await followOn(ctx, looked, follower);
    id = out.id;
    const said = stateLine(out);
    if (said.key !== last) await o.onState(said.line).then(reported);
    last = said.key;
    // What the task's agent posted with `gitbus progress`, as `dispatch --wait` shows it.
    if (out.progress && out.progress.at !== progressAt) await o.onState(`${out.id}: progress: ${out.progress.text}`).then(reported);
    progressAt = out.progress?.at ?? progressAt;
    // A note (bytes left out) goes where state lines go (stderr, an MCP progress notification), not into the output.
    if (step.note) await o.onState(step.note.trimEnd()).then(reported);
    if (step.printed) await o.onOutput(step.printed).then(reported);
    // An archived task does not change any more: one whose end is damaged (`invalid`) would be waited for in vain.
    if (isFinal(out.state) || out.archived) return done(out, true);
    // A live one whose handoff cannot be read never runs, so it would be waited for in vain too (until someone pushes
    // a corrected file): what is wrong with the file, and the fix, at once instead of after the whole timeout.
    if (out.state === 'invalid') {
      const refused = await invalidWaitError(ctx, out.id);
      if (refused) throw refused;
    }
    const left = end - Date.now();
    if (left <= 0 || o.signal.aborted) return done(out, false);
    // Said from the poll, not from a timer of its own: nothing is left running when the wait returns.
    if (o.still && Date.now() - reportedAt >= o.still.everyMs) await o.still.report(stillLine(out, Date.now() - start, o.timeoutMs)).then(reported);
    await abortableSleep(Math.min(o.pollMs ?? 1000, left), o.signal);
  }
}

/**
 * The line `--wait` prints for a task's state, and what must change for it to be printed again (pure). Offline, the
 * state is this node's last view, which may be long past: said, not passed off as news. The reason the remote
 * cannot be reached is said, but is not part of the key: an outage whose error text changes (a refused connection,
 * then a timeout) is one outage, said once.
 */
export function stateLine(out: Pick<TaskOutput, 'id' | 'state' | 'node' | 'attempt' | 'offline' | 'delivering'>): { key: string; line: string } {
  if (out.state === 'queued') return { key: `${out.id}: queued`, line: `${out.id}: queued on this node, not on the bus yet; it is sent at the next contact with the remote` };
  const where = out.node ? ` on ${out.node}${out.attempt ? ` (attempt ${out.attempt})` : ''}` : '';
  if (out.offline) return { key: `offline ${out.id}: ${out.state}${where}`, line: `${out.id}: the remote cannot be reached (${out.offline.reason}); still waiting, last known ${out.state}${where}` };
  // The run ended on its node; its result waits there for the project remote (its reason may change: said once).
  if (out.delivering && out.node) return { key: `${out.id}: ${out.state}${where} delivering`, line: `${out.id}: ${out.state}${where}; ${deliveringText(out.node, out.delivering)}` };
  return { key: `${out.id}: ${out.state}${where}`, line: `${out.id}: ${out.state}${where}` };
}

/** Where a task stands in a wait that has seen nothing new for a while: its state line and how long it waited (pure). */
export function stillLine(out: Pick<TaskOutput, 'id' | 'state' | 'node' | 'attempt' | 'offline' | 'delivering'>, waitedMs: number, timeoutMs: number): string {
  const waited = formatDuration(Math.round(waitedMs / 1000) * 1000);
  return `${stateLine(out).line}; waited ${waited}${Number.isFinite(timeoutMs) ? ` of ${formatDuration(timeoutMs)}` : ''}`;
}

/**
 * Why a wait for the invalid task `id` is refused: its files' problems, the first error's fix. Null when the task
 * is no longer invalid (its handoff was corrected since it was looked at): the wait goes on.
 */
async function invalidWaitError(ctx: BusContext, id: string): Promise<InvalidTaskError | null> {
  const view = await (await snapshotOrLast(ctx)).snap.view(id);
  if (view?.state !== 'invalid') return null;
  const errors = view.problems.filter((p) => p.severity === 'error');
  const problems = errors.length ? errors : view.problems;
  const first = problems[0];
  const where = first ? `in ${first.path}${first.field ? ` (${first.field})` : ''}: ${first.fix}; push the corrected file and wait again, or ` : '';
  return new InvalidTaskError(id, problems, 'will not change as it is, so a wait for it would never end', `${where}cancel the task with "gitbus cancel ${id}"`);
}

/** Delivers this node's queue; true when something went out. An outage leaves it queued. */
async function deliverQuietly(ctx: BusContext): Promise<boolean> {
  try {
    return (await deliverQueued(ctx)).delivered.length > 0;
  } catch (err) {
    if (outageCode(err) === null) throw err;
    return false;
  }
}
