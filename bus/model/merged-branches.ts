import type { ProjectReport } from '../../schemas/project.js';
import type { TaskState } from './types.js';

/**
 * The branches of an integration's `merge` that a follow-up's result lacks, as its response's `project.merged` says
 * what the branch holds (the worker checks it when a `gitbus resolve` run ends; the merge runner lists what it
 * merged, a branch that had moved under its `-moved-` name; `gitbus respond` checks the project remote when a
 * person or agent ends a manual resolve). Null when the response lists nothing: a response of a gitbus before that
 * check, which is taken at its word. Pure.
 */
export function unmergedBranches(merge: readonly string[], project: Pick<ProjectReport, 'merged'> | null | undefined): string[] | null {
  const merged = project?.merged;
  if (merged === undefined) return null;
  return merge.filter((b) => !merged.some((m) => m === b || m.startsWith(`${b}-moved-`)));
}

/**
 * Whether a follow-up of an integration (a resolve, by an agent or by hand, or the merge dispatched again) resolved
 * it: it succeeded, and its response reports the integration's branch pushed with every branch of `merge` in it.
 * A response without `project` shows nothing pushed (a manual resolve answered where gitbus could not check the
 * project remote), so it resolved nothing, however it ended. `gitbus group` and `gitbus resolve` both judge by
 * this alone, so that what one calls resolved the other does too. Pure.
 */
export function resolvesIntegration(merge: readonly string[], state: TaskState | 'unknown', project: ProjectReport | null | undefined): boolean {
  return state === 'succeeded' && project?.pushed === true && (unmergedBranches(merge, project)?.length ?? 0) === 0;
}

/**
 * Which of the follow-ups that resolved an integration (resolvesIntegration) `gitbus group` and `gitbus resolve` both
 * name: one whose result is on the integration's branch itself before one beside it (a push that landed later may
 * have gone beside it, after a newer follow-up took the branch), and among those the newest by id (ids begin with
 * when they were dispatched). One rule for both, so that they name the same task. Pure.
 */
export function settlingFollowUp<T extends { id: string; branch: string | null }>(integrationBranch: string | null, resolving: readonly T[]): T | undefined {
  const own = resolving.filter((t) => t.branch === integrationBranch);
  return newestById(own.length > 0 ? own : resolving);
}

/** The task with the greatest id: the one dispatched last, for ids gitbus made. Pure. */
export function newestById<T extends { id: string }>(tasks: readonly T[]): T | undefined {
  let newest: T | undefined;
  for (const t of tasks) if (newest === undefined || t.id > newest.id) newest = t;
  return newest;
}
