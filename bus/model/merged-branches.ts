import type { ProjectReport } from '../../schemas/project.js';

/**
 * The branches of an integration's `merge` that a follow-up's result lacks, as its response's `project.merged` says
 * what the branch holds (the worker checks it when a `gitbus resolve` run ends; the merge runner lists what it
 * merged, a branch that had moved under its `-moved-` name). Null when the response lists nothing: a response of a
 * gitbus before that check, which is taken at its word. Pure.
 */
export function unmergedBranches(merge: readonly string[], project: Pick<ProjectReport, 'merged'> | null | undefined): string[] | null {
  const merged = project?.merged;
  if (merged === undefined) return null;
  return merge.filter((b) => !merged.some((m) => m === b || m.startsWith(`${b}-moved-`)));
}
