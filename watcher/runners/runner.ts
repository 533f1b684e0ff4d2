import { formatDuration } from '../../schemas/duration.js';
import type { NodeConfig } from '../../bus/home.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { ClaudeReport } from '../../schemas/response.js';
import type { ProjectReport } from '../../schemas/project.js';
import type { PendingPush } from '../workspace/push.js';
import type { SpendLimit } from './claude-args.js';
import type { LogLoss } from './log-keeper.js';

/** What a runner needs to run one claimed task. */
export interface RunRequest {
  id: string;
  attempt: number;
  handoff: Handoff;
  body: string;
  /** Absolute working directory, already checked to lie inside the node's work root. */
  cwd: string;
  /** Where the run's output goes; `gitbus logs` reads it. */
  logPath: string;
  timeoutMs?: number;
  /** Told the process (group) id once the run has started, so that a restarted watcher can stop leftovers. */
  onStart?: (pid: number) => void;
  /** This node's settings (node.yaml): what it grants runners such as claude. */
  node?: NodeConfig;
  /**
   * What the task is told about itself beyond GITBUS_TASK_ID and GITBUS_ATTEMPT (the home, the node, a project
   * task's worktree and branch, a project's own variables): added to the runner's environment.
   */
  env?: Record<string, string>;
  /** The claude session this attempt runs in, recorded in its claim (`--session-id`, or `--resume` to continue one). */
  session?: { id: string; resume: boolean };
  /** A node with a daily claude cap: the cap and what was spent or reserved today; the run's budget is at most the rest. */
  spend?: SpendLimit;
}

/** The environment every runner gives its task: the watcher's, then the task's own variables. */
export function taskEnv(req: RunRequest, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, GITBUS_TASK_ID: req.id, GITBUS_ATTEMPT: String(req.attempt), ...req.env };
}

export type RunStatus = 'succeeded' | 'failed' | 'timed-out' | 'cancelled';

/** A run's log on the node that ran it, as its response names it (bus/ops/respond.ts, the Log section). */
export interface RunLog {
  path: string;
  bytes: number;
  /** The output in the response is made from the log's end only: the log is longer than what the runner reads. */
  cut: boolean;
  /** What the log did not keep of the output: past the node's cap (maxLogSize), or refused by its disk. */
  loss?: LogLoss;
}

/** How a run ended, for the response. */
export interface RunOutcome {
  status: RunStatus;
  exitCode: number | null;
  started: Date;
  finished: Date;
  /** The last lines of the output. */
  outputTail: string;
  /**
   * The run's log on this node: its size, and whether `outputTail` was made from only its end (run-task.ts sets it
   * from the file, whatever the runner), so that the response says where all of it is.
   */
  log?: RunLog;
  /** What the run's log keeper (log-keeper.ts, log-cap.ts) could not keep of its output; run-task.ts puts it in `log`. */
  logLoss?: LogLoss;
  /** Why it failed, timed out or was cancelled, in words. */
  reason?: string;
  /** The claude runner's session, cost, turns and model, for the response's `claude` field. */
  claude?: ClaudeReport;
  /** The run's answer in words (claude's result text), for the response's Results section. */
  resultText?: string;
  /** The icecc runner: how many compiles went through icecc, and where they ran (a line in the response's Results). */
  icecc?: { compiles: number; remote: number; local: number; scheduler: string | null };
  /** A project task's branch after the run (watcher/workspace/): pushed by the outbox, recorded in the response. */
  project?: ProjectReport;
  /** Where the project's branch is pushed from: the node's cached clone (watcher/workspace/). */
  push?: PendingPush;
  /** `git diff --stat` of the branch from its base, for the response. */
  projectStat?: string;
  /** Files the run left uncommitted in its worktree (autoCommit off, or a merge left unresolved), and why. */
  uncommitted?: number;
  uncommittedWhy?: string;
  /** The project branch's head does not contain its base (RespondInput.baseMissing). */
  baseMissing?: boolean;
  /** What the response's Branch section warns of about the project branch (RespondInput.projectWarnings). */
  projectWarnings?: string[];
  /**
   * The run never started because the project remote stayed out of reach (watcher/workspace/fetch-retry.ts): the
   * reason the claim is given back with, so that the task is tried again, rather than answered — unless this was
   * its last allowed attempt; then the outcome (failed, with `reason`) is its response (watcher/claimed-run.ts).
   */
  giveBack?: string;
}

export interface Runner {
  /** Resolves when the run has ended; never rejects (a run that cannot start is a failed outcome). */
  run(req: RunRequest, abort: AbortSignal): Promise<RunOutcome>;
}

/** The words of a timed-out run's reason: the timeout as the task gave it, else the one the run had (a node's cap). */
export function timeoutReason(req: Pick<RunRequest, 'handoff' | 'timeoutMs'>): string {
  const given = req.handoff.timeout ?? (req.timeoutMs !== undefined ? formatDuration(req.timeoutMs) : 'its time');
  return `stopped after the timeout of ${given}`;
}
