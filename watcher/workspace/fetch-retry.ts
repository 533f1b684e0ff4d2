import { outageOf } from '../../bus/project/git.js';
import { formatDuration } from '../../schemas/duration.js';
import { firstLine, GitbusError } from '../../schemas/errors.js';
import type { RunOutcome } from '../runners/runner.js';
import { redactUrlCredentials } from '../../schemas/url-redact.js';
import { retryDelay, type RetryPolicy } from '../backoff.js';
import { abortableSleep } from '../abortable-sleep.js';
import { isProjectOutage } from './cache.js';

/**
 * How the start of a project task waits for a project remote it cannot reach: fetches `policy` apart (the
 * watcher's `--retry`, doubling up to `--retry-max`) for up to `holdMs` (the bus's lease: a node that cannot start
 * holds the claim no longer than the fleet waits for a silent one), then the claim is given back.
 */
export interface FetchWait {
  policy: RetryPolicy;
  holdMs: number;
}

/** Outside a watcher (tests, `watch --once` without settings): as a watcher with the defaults waits. */
export const DEFAULT_FETCH_WAIT: FetchWait = { policy: { firstMs: 5_000, maxMs: 60_000 }, holdMs: 5 * 60_000 };

/** One task's start, held while its project remote is away (outageHold). */
export interface OutageHold {
  run<T>(step: () => Promise<T>): Promise<T>;
}

/**
 * The project remote's steps at one task's start (its fetch, then the base fetched by id, a tag, the remote's
 * default branch), each tried again while the remote is out of reach (an outage, isProjectOutage), until
 * `wait.holdMs` has passed since the first failure of any of them: an outage found after a fetch that worked is
 * the same outage, held for the same lease, not given back at once. Each failure is a line for the task's log
 * (`note`). A step throws a refusal at once (this node's credentials, a repository the host says it lacks) and an
 * outage when the task was cancelled, as git reported them; ProjectRemoteAwayError once the hold is over.
 */
export function outageHold(url: string, wait: FetchWait, abort: AbortSignal | undefined, note: (line: string) => void = () => undefined): OutageHold {
  /** When the first step found the remote away: the hold runs from there, across steps. */
  let since: number | null = null;
  let failures = 0;
  return {
    async run<T>(step: () => Promise<T>): Promise<T> {
      for (let waited = false; ; ) {
        try {
          const r = await step();
          if (waited && since !== null) note(`gitbus: the project remote ${redactUrlCredentials(url)} answered after ${seconds(Date.now() - since)}`);
          return r;
        } catch (err) {
          if (!isProjectOutage(err) || abort?.aborted) throw err;
          since ??= Date.now();
          failures++;
          const left = since + wait.holdMs - Date.now();
          if (left <= 0) throw new ProjectRemoteAwayError(url, outageReason(err), Date.now() - since);
          const waitMs = Math.min(left, retryDelay(wait.policy, failures));
          // The whole line: git's may quote the URL too, and a node.yaml project URL may hold a password.
          note(redactUrlCredentials(`gitbus: the project remote ${url} cannot be reached (${outageReason(err)}); trying again in ${seconds(waitMs)}, for up to ${seconds(left)} more before the task is given back`));
          await abortableSleep(waitMs, abort);
          waited = true;
          // Cancelled or shut down while it waited: no try more (it could take a fetch's whole time-out).
          if (abort?.aborted) throw err;
        }
      }
    },
  };
}

/** git's line that says why the remote could not be reached, for an error isProjectOutage accepts. Pure. */
export function outageReason(err: unknown): string {
  const stderr = (err as { stderr?: unknown }).stderr;
  return (typeof stderr === 'string' ? outageOf(stderr) : null) ?? 'no answer';
}

/**
 * The project remote stayed out of reach for the whole hold at a task's start: nothing about the task, so its claim
 * is given back (watcher/claimed-run.ts) for this node later, or another, to try again.
 */
export class ProjectRemoteAwayError extends GitbusError {
  readonly code = 'PROJECT_REMOTE_AWAY';
  constructor(url: string, reason: string, heldMs: number) {
    super(
      redactUrlCredentials(`the project remote ${url} could not be reached for ${seconds(heldMs)} (${reason})`),
      `check that this node reaches it (git ls-remote ${redactUrlCredentials(url)} works there); the task is given back and tried again, here or on another node, until its last allowed attempt`,
      { url, reason, heldMs },
    );
  }
}

/** A wait for people, in whole seconds (or minutes, hours when it is one): 5s, 90s, 5m. Pure. */
function seconds(ms: number): string {
  return formatDuration(Math.max(1, Math.round(ms / 1000)) * 1000);
}

/** Fixes that say nothing beyond the message they follow. */
const EMPTY_FIXES = new Set(['see above', 'see the message from git']);

/**
 * An error's first line and its fix, for a response's reason (capped at 4 KiB: each part is kept well under it).
 * The fix is what the person dispatching can act on (the push of a base the remote lacks, a branch that clashes,
 * the workdir to give): the response is all they see of a task that never started. Pure.
 */
export function withFix(err: unknown): string {
  const line = clip(firstLine(err), 1500);
  const fix = err instanceof GitbusError ? err.fix.split('\n')[0] ?? '' : '';
  // Some messages carry their fix already (a resume with no worktree here): not said twice.
  if (fix === '' || EMPTY_FIXES.has(fix) || line.includes(fix)) return line;
  return `${line} (fix: ${clip(fix, 2000)})`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The outcome of a project task that could not start: cancelled when a cancel or the shutdown stopped its wait for
 * the project remote; given back (RunOutcome.giveBack) when that remote stayed out of reach, which says nothing
 * about the task; failed otherwise (a refusal, a base the remote lacks), with `what` and the reason.
 */
export function unstarted(err: unknown, started: Date, abort: AbortSignal, what: string): RunOutcome {
  const end = { exitCode: null, started, finished: new Date(), outputTail: '' };
  if (abort.aborted) return { ...end, status: 'cancelled', reason: 'stopped on request while waiting for the project remote' };
  const reason = `${what}: ${withFix(err)}`;
  // An outage outageHold did not wait for (a step outside it): the same outage, given back as well.
  if (!(err instanceof ProjectRemoteAwayError) && !isProjectOutage(err)) return { ...end, status: 'failed', reason };
  return { ...end, status: 'failed', reason, giveBack: `${firstLine(err)}: given back to be tried again` };
}
