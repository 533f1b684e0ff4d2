import { pushedNothing, unfinishedResolve, type ProjectReport } from '../../schemas/project.js';

/** A run that did not succeed and made no commit over its base (pushedNothing): its branch was never made on the remote. */
export const NOTHING_PUSHED = 'not pushed: the run made no commit over its base, so there was nothing to push';

/** A resolve follow-up that did not succeed (unfinishedResolve): the integration's branch was left as it was. */
export const RESOLVE_NOT_PUSHED = "not pushed: the resolve did not succeed, so the integration's branch was left as it was; its commits stay in the worktree on the node that ran it";

/** Why a report pushed nothing on purpose (pushedNothing), in `show`'s words. Pure. */
export function nothingPushedText(r: Pick<ProjectReport, 'pushed' | 'baseCommit' | 'headCommit'> & Partial<Pick<ProjectReport, 'merged'>>): string {
  return unfinishedResolve(r) ? RESOLVE_NOT_PUSHED : NOTHING_PUSHED;
}

/**
 * Why a project task's branch is not on the project remote, in the words `show`, `collect` and Claude's hear-back
 * share. An integration that met conflicts left its branch as it was on purpose (docs/PROTOCOL.md §3a step 6):
 * nothing is coming, so no fetch is offered and the next step is named; so did a run that did not succeed and made no commit over its
 * base, and a resolve that did not succeed (pushedNothing); anything else is still to be pushed. Pure.
 */
export function notPushedWords(id: string, r: Partial<Pick<ProjectReport, 'pushError' | 'conflicts' | 'pushed' | 'baseCommit' | 'headCommit' | 'merged'>>): { text: string; fetchable: boolean } {
  const n = r.conflicts?.length ?? 0;
  if (n > 0) return { text: `not pushed: ${n} branch${n === 1 ? '' : 'es'} conflict; gitbus resolve ${id}`, fetchable: false };
  if (r.baseCommit !== undefined && r.headCommit !== undefined) {
    const known = { ...r, pushed: r.pushed ?? false, baseCommit: r.baseCommit, headCommit: r.headCommit };
    if (pushedNothing(known)) return { text: nothingPushedText(known), fetchable: false };
  }
  return { text: `not pushed yet${r.pushError ? `: ${r.pushError}` : ''}`, fetchable: true };
}

/**
 * What a waiting command says after a project task ended, beyond its state: a state of `succeeded` is about the run,
 * and a script that goes on to fetch `asked` (the branch the dispatch announced) would fetch nothing, or someone
 * else's commits, when the results went beside it (`<asked>-moved-<commit>`, docs/PROTOCOL.md §3a step 5) or are not
 * on the remote yet. In `show`'s words (notPushedWords). `said`: the warnings of the response's Branch section
 * (branchWarningsOfBody). Empty when the results are where they were announced and nothing was warned of. Pure.
 */
export function projectEndWarnings(id: string, asked: string, r: ProjectReport, said: readonly string[] = []): string[] {
  const lines: string[] = [];
  // What the node that ran it warned of in the response's Branch section: a result without its base, work left off it.
  for (const w of said) lines.push(`${id}'s branch ${r.branch}: ${w}`);
  if (r.branch !== asked) lines.push(`${id}'s results went beside ${asked}, to branch ${r.branch} of ${r.repo}: they were not a fast-forward of ${asked}, and gitbus never forces a push; "gitbus show ${id}" says why and how to merge them`);
  if (!r.pushed) {
    const missing = notPushedWords(id, r);
    lines.push(`${id}'s branch ${r.branch} of ${r.repo} is ${missing.text}${missing.fetchable ? `; the node that ran it pushes it again until the remote takes it ("gitbus show ${id}" says where it stands)` : ''}`);
  }
  return lines;
}
