import type { GitRun } from './git.js';
import { gitQuick } from './git-quick.js';
import { mayBeInWorkTree } from './work-tree-probe.js';

/** What one git command answered, or how it failed: each reader of a look decides what a failure means to it. */
export type Answer = { out: string } | { failed: unknown };

/**
 * One look at the checkout a command runs in, shared by what reads it: the git state in a handoff's body
 * (bus/git-context.ts, a courtesy that never fails a dispatch) and the project fields (checkout.ts, whose git
 * failures are errors). Five git processes, started together; it was twelve, each reader asking on its own
 * (issue 14: a dispatch from a checkout took 4.1x Node's start), then five with `git remote -v` (session 57: its
 * answer is read from the configuration, with the URL rewrites git applies, checkout.ts remotesOfConfig), four, and
 * five again with the remote-tracking refs at HEAD (session 60: they spare the project remote's listing), which a
 * dispatch that takes no base from HEAD does not ask for (session 61).
 */
export interface CheckoutLook {
  /** The top of the work tree. */
  top: string;
  /**
   * `git status --porcelain=v2 --branch --no-ahead-behind`, run in the folder looked from (status-v2.ts): the branch
   * without counting commits ahead of or behind its upstream, which nothing reads and which takes seconds on a branch
   * far from it.
   */
  status: Answer;
  /**
   * `git config -z --get-regexp` of the branches' `remote` and `merge`, the remotes' URLs and push URLs and the URL
   * rewrites (`url.<base>.insteadOf`, `pushInsteadOf`): empty when none is set.
   */
  config: Answer;
  /** `git log --oneline -5`, when asked for. */
  recent?: Answer;
  /**
   * `git for-each-ref --points-at=HEAD refs/remotes/`, each ref with its commit: the remote-tracking refs at HEAD's
   * commit, which say it was on their remote when this checkout last pushed or fetched (bus/project/resolve.ts then
   * lists no remote). Read against the commit `status` saw as HEAD (checkout.ts): a commit made between the two
   * commands is not taken for the one before. A failure (no commit yet) is none. Absent: not asked for (a dispatch
   * with `--no-repo` or `--base` takes no base from HEAD).
   */
  tracking?: Answer;
}

/** The configuration a look reads: what `git remote -v` and the branches' upstreams are made of. */
export const LOOK_CONFIG = '^(branch\\..*\\.(remote|merge)|remote\\..*\\.(url|pushurl)|url\\..*\\.(insteadof|pushinsteadof))$';

/**
 * Looks at the checkout `dir` is in; null when it is in none (or git is missing, or it is a bare repository). All
 * its commands start at once: outside a work tree the first says so and the others' failures are not read.
 * `tracking: false`: without the remote-tracking refs at HEAD, for a caller that takes no base from HEAD.
 */
export async function lookAtWorkTree(dir: string, o: { recent: boolean; tracking?: boolean }): Promise<CheckoutLook | null> {
  if (!mayBeInWorkTree(dir)) return null;
  const run = (args: string[], okCodes: number[] = []): Promise<Answer> =>
    gitQuick(args, { cwd: dir, okCodes }).then(
      (r: GitRun) => ({ out: r.code === 0 ? r.stdout : '' }),
      (failed: unknown) => ({ failed }),
    );
  const [top, status, config, tracking, recent] = await Promise.all([
    run(['rev-parse', '--show-toplevel']),
    run(['status', '--porcelain=v2', '--branch', '--no-ahead-behind']),
    // Exit 1: none of it is set.
    run(['config', '-z', '--get-regexp', LOOK_CONFIG], [1]),
    o.tracking === false ? undefined : run(['for-each-ref', '--points-at=HEAD', '--format=%(objectname) %(refname)', 'refs/remotes/']),
    o.recent ? run(['log', '--oneline', '-5']) : undefined,
  ]);
  const root = 'out' in top ? top.out.trim() : '';
  if (root === '') return null;
  return { top: root, status, config, ...(tracking !== undefined ? { tracking } : {}), ...(recent !== undefined ? { recent } : {}) };
}

/**
 * The entries of `git config -z --get-regexp` (the look's LOOK_CONFIG): each key with its value, null for an entry
 * without one (`[branch "x"] remote` alone has no newline). Pure.
 */
export function configEntries(out: string): { key: string; value: string | null }[] {
  return out
    .split('\0')
    .filter((entry) => entry !== '')
    .map((entry) => {
      const nl = entry.indexOf('\n');
      return nl < 0 ? { key: entry, value: null } : { key: entry.slice(0, nl), value: entry.slice(nl + 1) };
    });
}

/** The remote and merge ref set for `branch` (`branch.<name>.remote`, `.merge`), the last value of each as `git config --get` gives it. Pure. */
export function branchUpstream(configOut: string, branch: string): { remote: string | null; merge: string | null } {
  let remote: string | null = null;
  let merge: string | null = null;
  for (const { key, value } of configEntries(configOut)) {
    // An entry without a value: git --get prints it as empty.
    if (key === `branch.${branch}.remote`) remote = (value ?? '').trim();
    else if (key === `branch.${branch}.merge`) merge = (value ?? '').trim();
  }
  return { remote: remote === '' ? null : remote, merge: merge === '' ? null : merge };
}
