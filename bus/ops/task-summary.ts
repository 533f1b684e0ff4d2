import type { FileProblem } from '../../schemas/errors.js';
import { defaultBranch } from '../../schemas/project.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import type { ClaudeReport } from '../../schemas/response.js';
import type { TaskView } from '../model/task-view.js';
import type { TaskState } from '../model/types.js';
import type { Progress } from '../progress.js';
import type { HandoffFacts } from '../store/parse-cache-file.js';

/** A task as scripts see it in --json output: plain data, no Maps. */
export interface TaskSummary {
  id: string;
  state: TaskState;
  title: string | null;
  from: string | null;
  created: string | null;
  to: string | null;
  labels: string[];
  runner: string | null;
  priority: number;
  attempts: number;
  /**
   * Pending with every attempt used (the last one released, or its holder lost): no node may claim it, and the next
   * watcher's housekeeping answers it failed. Until then its files still say pending.
   */
  exhausted: boolean;
  claim: { attempt: number; node: string | null } | null;
  response: { status: string; node: string; finished: string } | null;
  waitingFor: string[];
  /** The dependencies it waits for and their states; one that ended without success dooms it (PROTOCOL.md §4). */
  waitingOn: { id: string; state: string }[];
  problems: FileProblem[];
  /**
   * A project task's repo as its handoff names it: what a node card's `policy.repos` and `projectsOnly` judge
   * (`noTaker`), and which project a script groups it under.
   */
  repo: string | null;
  /** A project task's result branch (the response's, else the handoff's), and its fan-out. */
  branch: string | null;
  group: string | null;
  /** A claude task's facts from its response: session, cost, turns, model, how it ended (null before it ends, or for other runners). */
  claude: ClaudeReport | null;
  /** The latest progress its agent posted (`gitbus progress`), while it runs: from this node's home or the holder's heartbeat. */
  progress: Progress | null;
}

export function summarize(v: TaskView<HandoffFacts>, maxAttempts = Number.POSITIVE_INFINITY): TaskSummary {
  const h = v.handoff;
  return {
    id: v.id,
    state: v.state,
    title: h?.title ?? null,
    from: h?.from ?? null,
    created: h?.created ?? null,
    to: h?.to ?? null,
    labels: h?.labels ?? [],
    runner: h ? effectiveRunner(h) : null,
    priority: h?.priority ?? 0,
    attempts: v.attempts,
    exhausted: v.state === 'pending' && v.attempts >= maxAttempts,
    claim: v.claim ? { attempt: v.claim.attempt, node: v.claim.node } : null,
    response: v.response ? { status: v.response.status, node: v.response.node, finished: v.response.finished } : null,
    waitingFor: v.waitingFor,
    waitingOn: v.waitingOn,
    problems: v.problems,
    repo: h?.repo ?? null,
    branch: v.response?.project?.branch ?? (h?.repo !== undefined ? (h.branch ?? defaultBranch(v.id)) : null),
    group: h?.group ?? null,
    claude: v.response?.claude ?? null,
    progress: null,
  };
}
