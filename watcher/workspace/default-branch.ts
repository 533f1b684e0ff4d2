import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The project remote's default branch as a cached clone last listed it, for a task with no `base` (watcher/workspace/
 * cache.ts resolveBase). Asking for it is `git ls-remote --symref origin HEAD`, which lists every ref of the remote:
 * git 2.39 sends no ref prefix for a pattern, and a GitHub project's pull-request refs are megabytes of it (issue 14,
 * "polite on a git host"). So a clone asks at most once every DEFAULT_BRANCH_TTL_MS: a task written without a base
 * within that time of a change of the remote's default branch starts from the branch that was the default.
 */
export const DEFAULT_BRANCH_TTL_MS = 10 * 60_000;

const FILE = 'gitbus-default-branch';

/** A branch name as git allows one (a name from the remote, kept in a file of the node's own). */
const BRANCH = /^(?!.*\.\.)(?!\/)(?!.*\/$)[A-Za-z0-9._/-]{1,255}$/;

/** The branch remembered in `gitDir` when it was listed less than DEFAULT_BRANCH_TTL_MS before `now`, else undefined. */
export function rememberedDefaultBranch(gitDir: string, now: number): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(gitDir, FILE), 'utf8');
  } catch {
    return undefined;
  }
  const m = /^(\d{1,16}) (\S+)\n$/.exec(text);
  if (!m?.[1] || !m[2]) return undefined;
  const age = now - Number(m[1]);
  // A clock set back makes a negative age: listed again, as for one too old.
  return age >= 0 && age < DEFAULT_BRANCH_TTL_MS && BRANCH.test(m[2]) ? m[2] : undefined;
}

/** Remembers `branch` as listed at `now` (a temp file renamed over the last); nothing when it cannot be written. */
export function rememberDefaultBranch(gitDir: string, branch: string, now: number): void {
  if (!BRANCH.test(branch)) return;
  const to = join(gitDir, FILE);
  const tmp = `${to}.${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    writeFileSync(tmp, `${now} ${branch}\n`, { flag: 'wx' });
    renameSync(tmp, to);
  } catch {
    // The next task lists the remote again.
  }
}
