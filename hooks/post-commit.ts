import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { git } from './git.js';

/** How long the post-commit push may take before gitbus stops waiting (the commit is already made). */
export const PUSH_TIMEOUT_MS = 120_000;

export type PushOutcome =
  /** The branch is on its upstream. */
  | 'pushed'
  /** Not pushed, and rightly so: a rebase is replaying commits (say `git pull --rebase`; push when it is done). */
  | 'rebasing'
  /** Not pushed: HEAD is not on a branch. */
  | 'detached'
  /** The branch has no upstream to push to. */
  | 'no-upstream'
  /** The remote moved since the last pull: the push was refused as not a fast-forward. */
  | 'behind'
  /** Any other failure: unreachable remote, permissions, a server-side hook, a timeout. */
  | 'failed';

export interface PushReport {
  outcome: PushOutcome;
  branch: string | null;
  upstream: string | null;
  /** What `git push` printed (standard error, where git reports). */
  output: string;
  /** What went wrong, in words, when outcome is not pushed. */
  reason?: string;
  /** What to do about it. */
  fix?: string;
}

/** A rebase replays commits one by one (on a detached HEAD): pushing each would push a half-done history. */
const REBASING = ['rebase-merge', 'rebase-apply'];

async function gitLine(args: string[], cwd: string): Promise<string | null> {
  const r = await git(args, { cwd, hookEnv: true });
  const line = r.stdout.toString('utf8').trim();
  return r.code === 0 && line ? line : null;
}

/**
 * What the post-commit hook does: push the current branch to its upstream with a plain `git push` (never
 * forced), so that committing a handoff dispatches it. Never throws for a failed push: the report says what
 * happened and how to fix it.
 */
export async function pushAfterCommit(cwd: string, timeoutMs = PUSH_TIMEOUT_MS, opts: { afterRebase?: boolean } = {}): Promise<PushReport> {
  // post-rewrite runs when the rebase has put the branch back, but before it removes its state folder.
  for (const name of opts.afterRebase ? [] : REBASING) {
    const p = await gitLine(['rev-parse', '--git-path', name], cwd);
    if (p && existsSync(resolve(cwd, p))) return { outcome: 'rebasing', branch: null, upstream: null, output: '', reason: 'a rebase is in progress', fix: 'push when it is done: git push' };
  }
  const branch = await gitLine(['symbolic-ref', '--quiet', '--short', 'HEAD'], cwd);
  if (branch === null) return { outcome: 'detached', branch, upstream: null, output: '', reason: 'HEAD is not on a branch', fix: 'commit on a branch (git switch main) to dispatch by committing' };
  const upstream = await gitLine(['rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{upstream}'], cwd);
  if (upstream === null) {
    return { outcome: 'no-upstream', branch, upstream, output: '', reason: `branch ${branch} has no upstream, so the commit was not pushed`, fix: `push it once with: git push -u origin ${branch}` };
  }
  let r;
  try {
    r = await git(['push'], { cwd, hookEnv: true, timeoutMs });
  } catch (err) {
    return { outcome: 'failed', branch, upstream, output: '', reason: (err as Error).message.split('\n')[0] ?? 'git push failed', fix: 'your commit is safe in this clone; push it with: git push' };
  }
  const output = r.stderr.trimEnd();
  if (r.code === 0) return { outcome: 'pushed', branch, upstream, output };
  if (/\[rejected\][^\n]*\((fetch first|non-fast-forward)\)/.test(output)) {
    return {
      outcome: 'behind',
      branch,
      upstream,
      output,
      reason: `the push was rejected: ${upstream} has commits this clone does not have (someone else pushed since your last pull)`,
      fix: 'your commit is safe in this clone; run: git pull --rebase (with the gitbus hooks it pushes when done; else git push after it) and never force-push a bus: that would drop what others wrote',
    };
  }
  return { outcome: 'failed', branch, upstream, output, reason: `git push failed (exit code ${r.code})`, fix: 'your commit is safe in this clone; fix what git says above, then run: git push' };
}
