import type { Delivery } from '../../schemas/delivery.js';
import type { FileProblem } from '../../schemas/errors.js';
import { movedBranch, pushedNothing, unfinishedResolve } from '../../schemas/project.js';
import type { TaskResponse } from '../../schemas/response.js';
import type { Parsed } from './task-view.js';

/** One delivery file of a task, as parsed (a file that does not parse brings its own problems, reported with the task's). */
export interface DeliveryFile {
  path: string;
  parsed: Parsed<Delivery>;
}

/** A response as every reader shows it, with the delivery folded in that says its branch reached the project remote later. */
export interface MergedResult {
  /** The response with `project` as the remote now has it; the response as written when no delivery counts. */
  response: TaskResponse | undefined;
  /** The delivery folded in, when one counts. */
  delivery?: Delivery & { path: string };
  /** Why a delivery that parses does not count (or counts for nothing), by file and field. */
  problems: FileProblem[];
}

/** The branch beside `branch` that a push that is not a fast-forward goes to (docs/PROTOCOL.md §3a step 5): the watcher's own rule. */
export const besideBranch = movedBranch;

const REMOVE = 'remove it: the node that holds the attempt writes its delivery once its response is on the bus and its branch on the project remote';

/**
 * The one view of a task's result that show, collect, group, wait, the web pages, MCP and resolvesIntegration read
 * (docs/PROTOCOL.md §3a, "A push that lands later"): a response that went out with `project.pushed: false`, and the
 * delivery of the same attempt by the same node saying where the project remote took the branch since, read as one
 * result pushed there. A delivery that does not fit its response (no response, another attempt, another node, other
 * results, a branch the push could not have gone to) is a problem and changes nothing: the response stands as
 * written and the file stays for a person to judge. Pure.
 */
export function mergeDeliveries(response: TaskResponse | undefined, files: readonly DeliveryFile[]): MergedResult {
  const problems: FileProblem[] = [];
  let merged: MergedResult['response'] = response;
  let counted: MergedResult['delivery'];
  const bad = (path: string, field: string, reason: string, fix = REMOVE, severity: FileProblem['severity'] = 'error'): void => {
    problems.push({ path, field, reason, fix, severity });
  };
  for (const { path, parsed } of files) {
    if (!parsed.ok) continue;
    const d = parsed.data;
    if (response === undefined) {
      bad(path, '', `a delivery of attempt ${d.attempt}, but the task has no response: a delivery only says that a response's branch reached the project remote later`);
      continue;
    }
    if (response.attempt !== d.attempt) {
      bad(path, 'attempt', `a delivery of attempt ${d.attempt}, but the response ends ${response.attempt === undefined ? 'no attempt' : `attempt ${response.attempt}`}: it says nothing of that result`);
      continue;
    }
    if (response.node !== d.node) {
      bad(path, 'node', `written in the name of node ${d.node}, but the response of attempt ${d.attempt} is node ${response.node}'s: only the node that holds the attempt (and its worktree) delivers its branch`);
      continue;
    }
    const p = response.project;
    if (p === undefined) {
      bad(path, '', `the response of attempt ${d.attempt} reports no project work, so there is no branch to deliver`);
      continue;
    }
    if (p.pushed) {
      bad(path, '', `the response of attempt ${d.attempt} says its branch was pushed already: the delivery changes nothing`, 'remove it; it is harmless meanwhile', 'warning');
      continue;
    }
    if (pushedNothing(p)) {
      // Nothing was left to push (a failed run at its base, a resolve that did not succeed): no node keeps pushing it, so no push can land later.
      bad(path, '', `the response of attempt ${d.attempt} pushed nothing on purpose (${unfinishedResolve(p) ? 'a resolve that did not succeed' : 'the run made no commit over its base'}): there is no branch to deliver, and the delivery changes nothing`, 'remove it; it is harmless meanwhile', 'warning');
      continue;
    }
    if (d.headCommit !== p.headCommit) {
      bad(path, 'headCommit', `names commit ${d.headCommit.slice(0, 12)}, but the response's results are at ${p.headCommit.slice(0, 12)}: a delivery says where that very commit reached the project remote`);
      continue;
    }
    const beside = besideBranch(p.branch, p.headCommit);
    if (d.branch !== p.branch && d.branch !== beside) {
      bad(path, 'branch', `names branch ${d.branch}, which is neither the response's ${p.branch} nor the branch beside it (${beside}) that a push which is not a fast-forward goes to`);
      continue;
    }
    const project = { ...p, pushed: true, branch: d.branch };
    // The remote took it: why it once did not is the past, and readers say "not pushed" wherever it is set.
    delete project.pushError;
    merged = { ...response, project };
    counted = { ...d, path };
  }
  return counted ? { response: merged, delivery: counted, problems } : { response: merged, problems };
}
