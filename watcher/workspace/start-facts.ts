import { isAncestor } from './cache.js';

/**
 * What the project remote's result branch was to a run when it started from `start` (watcher/workspace/push.ts
 * tells from these why a push that is not a fast-forward went beside the branch): `remoteAtStart` when the run builds
 * on the branch's commit `remoteHead` (until the run pushes there, a result that lacks it while the remote still
 * holds it rewrote the branch); `apartAtStart` when it does not (the branch lacked the task's base, so the run
 * started from the base beside it: its results are no fast-forward of the branch unless the run merges it, and the
 * push says so rather than that someone moved it); neither when the branch was not on the remote.
 */
export async function startFacts(gitDir: string, remoteHead: string | null, start: string): Promise<{ remoteAtStart?: string; apartAtStart?: string }> {
  if (remoteHead === null) return {};
  return remoteHead === start || (await isAncestor(gitDir, remoteHead, start)) ? { remoteAtStart: remoteHead } : { apartAtStart: remoteHead };
}
