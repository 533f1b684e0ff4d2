import type { BusContext } from '../../bus/context.js';
import type { ClaimResult } from '../../bus/ops/claim.js';
import { mergeResults } from '../../bus/ops/merge-results.js';
import { firstLine } from '../../schemas/errors.js';
import { isAncestor, refCommit } from './cache.js';

/**
 * A task that merges by hand (a `gitbus resolve` follow-up: `merge` with a runner other than `merge`), checked when
 * its run ends: which branches of `merge` its branch's head contains — each as the newest task made for it reports
 * its result (bus/ops/merge-results.ts), else as the project remote had the branch when the run fetched it. The
 * response's `project.merged` lists them, so that `gitbus group` on any node decides from the response alone.
 */

export interface MergeCheck {
  /** The branches of `merge` the head contains, in `merge`'s order. */
  merged: string[];
  /** Those it lacks, with the commit it should contain (null: none known, nor on the project remote). */
  missing: { branch: string; task: string | null; commit: string | null }[];
  /** The group's integration task, for the fix-it; null when none is known. */
  integration: string | null;
}

export async function checkMerged(ctx: BusContext, task: Pick<ClaimResult, 'id' | 'handoff'>, gitDir: string, head: string, note: (line: string) => void): Promise<MergeCheck> {
  const h = task.handoff;
  // The bus out of reach: each branch as the project remote has it.
  const { results, integration } = await mergeResults(ctx, h, task.id).catch((err: unknown) => {
    note(checkFailedNote(err));
    return { results: [], integration: null };
  });
  const out: MergeCheck = { merged: [], missing: [], integration };
  for (const branch of h.merge ?? []) {
    const found = results.find((r) => r.branch === branch);
    // No task reports it (a `merge` written by hand, or a result the node cannot read): as the remote has it. A
    // commit the clone lacks is not contained.
    const commit = found?.commit ?? (await refCommit(gitDir, `refs/remotes/origin/${branch}`));
    if (commit !== null && (await isAncestor(gitDir, commit, head).catch(() => false))) out.merged.push(branch);
    else out.missing.push({ branch, task: found?.task ?? null, commit });
  }
  return out;
}

/** Why the run does not count as merged: the branch and what it lacks, with what to do. Pure. */
export function missingReason(branch: string, c: MergeCheck): string {
  const what = c.missing.map((m) => `${m.branch} (${m.commit ? `${m.task ? `task ${m.task}'s result ` : ''}${m.commit.slice(0, 12)}` : 'not on the project remote'})`).join(', ');
  const fix = c.integration ? `resolve again (gitbus resolve ${c.integration}), or merge again (gitbus resolve ${c.integration} --runner merge)` : 'merge them and push the branch again';
  return `${branch} does not contain ${what}: the run did not merge ${c.missing.length === 1 ? 'it' : 'them'}, so its commits were not pushed (they stay in its worktree) and ${branch} on the project remote was left as it was; ${fix}`;
}

/** A line for the task's log when the tasks' reports could not be read. Pure. */
function checkFailedNote(err: unknown): string {
  return `gitbus: could not read which tasks made the branches of "merge" (${firstLine(err)}); checking them as the project remote has them`;
}
