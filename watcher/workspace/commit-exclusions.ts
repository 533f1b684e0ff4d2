import { git, type GitOptions } from '../../bus/project/git.js';
import { oneLineText } from '../../schemas/output-text.js';

/**
 * What gitbus's commit of a run's leftovers leaves out besides the files copied in from the node's checkout: what
 * the project's setup command made (the node's preparation, not the task's work), and git repositories the run made
 * inside the worktree (a clone of a dependency, a `git init`), which `git add` would either refuse outright (one with
 * no commit yet stops the whole add) or store as a bare link to a commit the project remote does not have.
 */

/**
 * The untracked paths of a worktree, folders git lists whole (`dir/`) as one entry: read right after the project's
 * setup succeeded, they are what it made. Ignored files are not listed: they are never committed anyway.
 */
export async function untrackedEntries(at: GitOptions): Promise<string[]> {
  const r = await git(['ls-files', '--others', '--exclude-standard', '--directory', '-z'], at);
  return r.stdout.split('\0').filter(Boolean);
}

/**
 * The repositories of their own under a worktree that git does not track: in a full listing of untracked files, git
 * names such a repository as one entry ending in `/` (it never descends into one), where a plain folder's files are
 * listed one by one. Paths relative to the worktree, without the slash.
 */
export async function nestedRepositories(at: GitOptions): Promise<string[]> {
  const r = await git(['ls-files', '--others', '--exclude-standard', '-z'], at);
  return r.stdout.split('\0').filter((p) => p.endsWith('/')).map((p) => p.slice(0, -1));
}

/**
 * What the setup has made in a worktree after one more run of it: what an earlier, failed run of it made (a retry
 * finds that untracked already, and it is still no task's work), and what is untracked now that was not before this
 * run (nor copied in from the node's checkout). `fresh`: how many entries this run added. Pure.
 */
export function setupMadeNow(earlier: readonly string[], now: readonly string[], before: readonly string[], included: readonly string[]): { setupMade: string[]; fresh: number } {
  const added = now.filter((p) => !included.includes(p) && !before.includes(p) && !earlier.includes(p));
  return { setupMade: [...earlier, ...added], fresh: added.length };
}

/** Whether a path of `git status` is one of the entries left out, or under one listed as a folder (`dir/`). Pure. */
export function isLeftOut(path: string, entries: readonly string[]): boolean {
  return entries.some((e) => path === e || (e.endsWith('/') && path.startsWith(e)));
}

/**
 * The pathspecs, one per NUL-ended line for `git add --all --pathspec-from-file=- --pathspec-file-nul`, that add
 * everything but the given paths: literal, so that a name with `*`, `?` or `:(` in it is matched as it is. Pure.
 */
export function addAllExcept(paths: readonly string[]): string {
  return ['.', ...paths.map((p) => `:(exclude,literal)${p}`)].map((s) => `${s}\0`).join('');
}

/**
 * The response's reason for leaving such repositories uncommitted, with what to do. The names are the run's (any
 * bytes a file name may hold): each is quoted, on one line, and clipped, and at most five are named. Pure.
 */
export function nestedRepositoriesWhy(paths: readonly string[], worktree: string): string {
  const named = paths.slice(0, 5).map((p) => JSON.stringify(oneLineText(p, 80))).join(', ');
  const more = paths.length > 5 ? ` and ${paths.length - 5} more` : '';
  const them = paths.length === 1 ? 'it' : 'them';
  return `the run made ${paths.length === 1 ? 'a git repository' : 'git repositories'} of its own inside the worktree (${named}${more}), which a commit would store as ${paths.length === 1 ? 'a link' : 'links'} to commits the project remote does not have; ${them === 'it' ? 'its' : 'their'} files are kept in ${worktree} (to deliver ${them}, remove ${them === 'it' ? 'its' : 'their'} .git and commit the files, or add ${them} as submodules, then push the branch)`;
}
