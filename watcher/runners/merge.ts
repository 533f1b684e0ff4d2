import { git, ProjectGitError } from '../../bus/project/git.js';

/**
 * The merge runner's core: merges a fan-out's workstream branches, in order, on top of the base, in a bare
 * repository (the node's cached clone), with git objects only. `git merge-tree --write-tree` merges without a
 * worktree or an index and `git commit-tree` makes each merge commit; no ref is read or written, so the caller
 * decides what becomes of the result (push it as the integration branch only when every merge was clean).
 *
 * Every merge is tried, not just those up to the first conflict: a branch that conflicts is skipped and the later
 * ones are merged onto what merged cleanly, so one run reports every conflict by branch and file.
 */

export interface IntegrateBranch {
  /** The branch as the task names it (`<group>/<workstream>`), for messages and the report. */
  name: string;
  /** The commit to merge: the branch's tip as fetched. */
  commit: string;
}

export interface IntegrateInput {
  /** A bare repository (or `.git` folder) holding the base and every branch's commit. */
  gitDir: string;
  baseCommit: string;
  branches: IntegrateBranch[];
  /** The branch the result is for, in the merge commits' messages (default `integration`). */
  into?: string;
  /** The node's name, for the commit identity when the repository has none configured. */
  node?: string;
}

export interface IntegrateResult {
  /** Every branch merged cleanly: `head` is the result. */
  ok: boolean;
  /** The last merge commit (or the base, when nothing needed merging) when `ok`; null otherwise. */
  head: string | null;
  /** Branches that merged cleanly, in order (`upToDate` ones included). */
  merged: string[];
  /** Branches already contained in what was merged before them (no commits of their own): no merge commit made. */
  upToDate: string[];
  /** Branches whose merge conflicts, with the conflicted files; each was skipped. */
  conflicts: { branch: string; files: string[] }[];
}

/** Parses `git merge-tree --write-tree --name-only -z` output: the tree, then conflicted paths until an empty one. Pure. */
export function parseMergeTree(stdout: string): { tree: string; files: string[] } {
  const parts = stdout.split('\0');
  const tree = (parts[0] ?? '').trim();
  const files: string[] = [];
  for (const p of parts.slice(1)) {
    if (p === '') break;
    if (!files.includes(p)) files.push(p);
  }
  return { tree, files };
}

/** Identity for commit-tree: the repository's own when it has one, else `gitbus <node>`. */
async function identityEnv(gitDir: string, node: string): Promise<NodeJS.ProcessEnv> {
  const email = await git(['config', '--get', 'user.email'], { gitDir, okCodes: [1], what: 'reading the commit identity' });
  if (email.stdout.trim() !== '') return {};
  const name = `gitbus ${node}`;
  const mail = `${node}@gitbus.invalid`;
  return { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: mail, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: mail };
}

export async function integrate(input: IntegrateInput): Promise<IntegrateResult> {
  const { gitDir } = input;
  const into = input.into ?? 'integration';
  const env = await identityEnv(gitDir, input.node ?? 'node');
  const result: IntegrateResult = { ok: false, head: null, merged: [], upToDate: [], conflicts: [] };
  let current = input.baseCommit;
  for (const b of input.branches) {
    // Values come from the bus: commits are checked to be object ids so none can be read as an option.
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(b.commit)) throw new ProjectGitError(`merging ${b.name}`, [], `"${b.commit}" is not a full commit id`, null, 'fetch the branch and pass its commit id');
    const contained = await git(['merge-base', '--is-ancestor', b.commit, current], { gitDir, okCodes: [1], what: `checking whether ${b.name} is already merged` });
    if (contained.code === 0) {
      result.merged.push(b.name);
      result.upToDate.push(b.name);
      continue;
    }
    const run = await git(['merge-tree', '--write-tree', '--name-only', '-z', current, b.commit], {
      gitDir,
      okCodes: [1],
      what: `merging ${b.name}`,
      fix: `check that ${b.name} was fetched and shares history with the base`,
    });
    const { tree, files } = parseMergeTree(run.stdout);
    if (run.code === 1) {
      result.conflicts.push({ branch: b.name, files });
      continue;
    }
    const commit = await git(['commit-tree', tree, '-p', current, '-p', b.commit, '-m', `Merge ${b.name} into ${into}`], { gitDir, env, what: `committing the merge of ${b.name}` });
    current = commit.stdout.trim();
    result.merged.push(b.name);
  }
  result.ok = result.conflicts.length === 0;
  result.head = result.ok ? current : null;
  return result;
}
