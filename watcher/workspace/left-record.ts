import { git } from '../../bus/project/git.js';
import { shellWord } from '../../bus/project/shell-word.js';
import { quotedName } from '../../schemas/quoted-name.js';
import { takeLeftCommands, type LeftBranch } from './left-work.js';
import type { LeftOut, WorktreeRecord } from './registry.js';

/**
 * What a worktree's record keeps of commits its runs left off their results (left-work.ts), and what keeps the
 * worktree for them: such a commit still on a local branch of the node's clone and not on the project remote. It is
 * released when the person pushes it (anywhere on the project remote, as prune's fetch sees it), when no local
 * branch holds it any more (the branch deleted, or moved off it), or when the person names the worktree to
 * `gitbus worktrees prune`: the commits are on a branch of the clone, which prune does not delete, so removing the
 * worktree loses none of them, but once it is gone nothing of gitbus points at them.
 */

/** Records beyond which the oldest are forgotten: a run seldom leaves more than one branch. */
const MAX_RECORDED = 20;
const COMMIT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** `r` with the branches task `task` left out of its result added (a tip recorded before is recorded once). Pure. */
export function recordLeftOut(r: WorktreeRecord, task: string, left: LeftBranch[]): WorktreeRecord {
  if (left.length === 0) return r;
  const earlier = (r.leftOut ?? []).filter((l) => !left.some((n) => n.tip === l.tip));
  return { ...r, leftOut: [...earlier, ...left.map((l) => ({ branch: l.branch, tip: l.tip, task }))].slice(-MAX_RECORDED) };
}

/** A recorded commit that still keeps the worktree, with how many commits up to it the project remote lacks. */
export interface HeldLeftOut extends LeftOut {
  commits: number;
}

/**
 * The recorded commits that still keep the worktree: not on the project remote (as last fetched) and held by a
 * local branch. Asked by commit, never by the branch's name. Two git processes each; a worktree seldom has any.
 */
export async function leftOutHeld(r: Pick<WorktreeRecord, 'gitDir' | 'leftOut'>): Promise<HeldLeftOut[]> {
  const out: HeldLeftOut[] = [];
  for (const l of r.leftOut ?? []) {
    if (!COMMIT_ID.test(l.tip)) continue;
    // A commit gone from the clone (its branch deleted, then collected) holds nothing any more.
    const count = await git(['rev-list', '--count', l.tip, '--not', '--remotes=origin'], { gitDir: r.gitDir, okCodes: [128] });
    const commits = count.code === 0 ? Number(count.stdout.trim()) || 0 : 0;
    if (commits === 0) continue;
    const holder = await git(['for-each-ref', '--count=1', '--format=%(refname)', '--contains', l.tip, 'refs/heads/'], { gitDir: r.gitDir });
    if (holder.stdout.trim() !== '') out.push({ ...l, commits });
  }
  return out;
}

/** Why such commits keep the worktree, and how the person lets it go. Pure. */
export function leftOutBlocker(r: Pick<WorktreeRecord, 'key' | 'branch' | 'path'>, l: HeldLeftOut): { reason: string; fix: string } {
  const one = l.commits === 1;
  const it = one ? 'it' : 'them';
  const take = takeLeftCommands(r, l.tip);
  return {
    reason: `${l.commits} commit${one ? '' : 's'} of the branch ${quotedName(l.branch)} (newest ${l.tip.slice(0, 12)}) that task ${l.task} made and left out of its result ${one ? 'is' : 'are'} not on the project remote`,
    fix: `take ${it} into the result (${take.cherryPick}), push ${it} as a branch of its own (${take.push}), or delete the branch; to prune it anyway, name it: gitbus worktrees prune ${shellWord(r.key)} (the branch stays in this node's clone of the project)`,
  };
}
