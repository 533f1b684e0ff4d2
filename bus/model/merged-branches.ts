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
