import type { NodeConfig } from '../../bus/home.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { ClaudeReport } from '../../schemas/response.js';

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
}

export type RunStatus = 'succeeded' | 'failed' | 'timed-out' | 'cancelled';

/** How a run ended, for the response. */
export interface RunOutcome {
  status: RunStatus;
  exitCode: number | null;
  started: Date;
  finished: Date;
  /** The last lines of the output. */
  outputTail: string;
  /** Why it failed, timed out or was cancelled, in words. */
  reason?: string;
  /** The claude runner's session, cost, turns and model, for the response's `claude` field. */
  claude?: ClaudeReport;
  /** The run's answer in words (claude's result text), for the response's Results section. */
  resultText?: string;
  /** The icecc runner: how many compiles went through icecc, and where they ran (a line in the response's Results). */
  icecc?: { compiles: number; remote: number; local: number; scheduler: string | null };
}

export interface Runner {
  /** Resolves when the run has ended; never rejects (a run that cannot start is a failed outcome). */
  run(req: RunRequest, abort: AbortSignal): Promise<RunOutcome>;
}
