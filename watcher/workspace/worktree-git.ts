import { existsSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { git, type GitOptions } from '../../bus/project/git.js';
import { GitbusError } from '../../schemas/errors.js';
import { shellWord } from '../../bus/project/shell-word.js';

/**
 * The options of a git run in a task's worktree: that worktree alone. A worktree whose `.git` the run removed is no
 * repository, and git would walk up to the first one above it: a dotfiles repository around the node's home would
 * take `add --all` of everything in it (node.yaml, the bus clone, the person's files) under the task's title.
 */
export function inWorktree(path: string): Pick<GitOptions, 'cwd' | 'env'> {
  return { cwd: path, env: { GIT_CEILING_DIRECTORIES: dirname(path), GIT_DIR: undefined, GIT_WORK_TREE: undefined, GIT_COMMON_DIR: undefined, GIT_INDEX_FILE: undefined } };
}

/** What a worktree's folder is now: a worktree of the node's clone, gone, or a folder git no longer ties to it. */
export type WorktreeState = 'ok' | 'gone' | 'no-git' | 'other-repo';

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * Whether `path` is still a worktree of the cached clone `gitDir`: its own top level (not a folder inside another
 * repository) and sharing the clone's objects (not a repository the run made with `git init`, or a `.git` file
 * pointing elsewhere). One git process.
 */
export async function worktreeState(path: string, gitDir: string): Promise<WorktreeState> {
  if (!existsSync(path)) return 'gone';
  const r = await git(['rev-parse', '--show-toplevel', '--git-common-dir'], { ...inWorktree(path), okCodes: [128] });
  if (r.code !== 0) return 'no-git';
  const [top = '', common = ''] = r.stdout.split('\n');
  if (real(top) !== real(path)) return 'no-git';
  return real(resolve(path, common)) === real(gitDir) ? 'ok' : 'other-repo';
}

/** Why a worktree that is not one any more cannot be read or committed, for a response or `gitbus worktrees`. Pure. */
export function lostReason(state: Exclude<WorktreeState, 'ok'>, path: string): string {
  if (state === 'gone') return `the run removed its worktree ${path}: nothing of its work is left to commit`;
  return state === 'no-git'
    ? `the run removed its worktree's .git: its work cannot be committed; the files stay in ${path}`
    : `the run replaced its worktree's .git with another repository's: its work cannot be committed; the files stay in ${path}`;
}

/** How to take the files out and let the worktree go. Pure. */
export function lostFix(state: Exclude<WorktreeState, 'ok'>, path: string, key: string): string {
  if (state === 'gone') return `dispatch the task again; "gitbus worktrees prune ${key}" drops the worktree's record`;
  return `copy what you need out of ${shellWord(path)}, then remove the folder (rm -rf ${shellWord(path)}) and its record ("gitbus worktrees prune ${key}"), and dispatch the task again`;
}

/** A worktree whose `.git` no longer makes it one of the node's clone: nothing is committed or pushed from it. */
export class WorktreeLostError extends GitbusError {
  readonly code = 'WORKTREE_LOST';
  constructor(state: Exclude<WorktreeState, 'ok'>, path: string, key: string) {
    super(lostReason(state, path), lostFix(state, path, key), { path, key, state });
  }
}
