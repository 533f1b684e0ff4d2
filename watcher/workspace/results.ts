import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { git, type GitOptions } from '../../bus/project/git.js';
import { MAX_SUBJECTS, type ProjectReport } from '../../schemas/project.js';
import { oneLineText } from '../../schemas/output-text.js';
import { apartOf, lastPushedOf, type PendingPush } from './push.js';
import type { PreparedWorkspace } from './worktree.js';
import type { WorktreeRecord } from './registry.js';
import { isAncestor } from './cache.js';
import { shellWord } from '../../bus/project/shell-word.js';
import { inWorktree, WorktreeLostError, worktreeState } from './worktree-git.js';
import { addAllExcept, isLeftOut, nestedRepositories, nestedRepositoriesWhy } from './commit-exclusions.js';
import { leftWork, leftWorkWarnings, type LeftBranch, type RunStart } from './left-work.js';

export interface FinishInput {
  ws: PreparedWorkspace;
  id: string;
  attempt: number;
  node: string;
  title: string;
  status: string;
  /** The handoff's autoCommit; else the project's in node.yaml; else true. */
  autoCommit: boolean | undefined;
  /** Where the run started in the worktree (left-work.ts runStart): what it left off the result is told from it. */
  start: RunStart | { problem: string };
}

export interface Finished {
  report: ProjectReport;
  push: PendingPush;
  /** `git diff --stat` from the base, capped: the response's Changes section. */
  stat: string;
  /** Changes left uncommitted (autoCommit off, or a merge left unresolved): said in the response, kept in the worktree. */
  uncommitted: number;
  /** Why they were left: autoCommit is off, or a merge is in progress. */
  uncommittedWhy?: string;
  /** The head does not contain the base (the run reset or rebased off it): the counts are not work over it. */
  baseMissing: boolean;
  /** What the response's Branch section warns of (RespondInput.projectWarnings), each with its fix. */
  warnings: string[];
  /** Local branches holding commits the run made that are neither in the result nor on the project remote. */
  left: LeftBranch[];
  /** Lines for the task's log: what of the run's leftovers could not be checked. */
  notes: string[];
}

/** A worktree's own git folder: the path its `.git` file names (`gitdir: ...`), or `.git` itself in a plain clone. */
export function worktreeGitDir(worktree: string): string {
  const dotGit = join(worktree, '.git');
  try {
    const m = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'));
    if (m?.[1]) return resolve(worktree, m[1].trim());
  } catch {
    // a folder, not a file: a plain clone
  }
  return dotGit;
}

/** Who gitbus commits as when the node's git has no identity: the node, at an address that cannot receive mail. */
export function nodeIdentity(node: string): string[] {
  return ['-c', `user.name=gitbus (${node})`, '-c', `user.email=${node}@gitbus.invalid`];
}

async function hasIdentity(cwd: string): Promise<boolean> {
  const r = await git(['config', '--get', 'user.email'], { ...inWorktree(cwd), okCodes: [1] });
  return r.code === 0 && r.stdout.trim() !== '';
}

/** "3 files changed, 10 insertions(+), 2 deletions(-)" as numbers. Pure. */
export function parseShortstat(text: string): { files: number; insertions: number; deletions: number } {
  const n = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  return { files: n(/(\d+) files? changed/), insertions: n(/(\d+) insertions?\(\+\)/), deletions: n(/(\d+) deletions?\(-\)/) };
}

/**
 * After the run: commits what it left uncommitted (never the files copied in from the node's checkout, and without
 * running the project's hooks), then reads the branch's facts for the response. The push is the outbox's job.
 */
export async function finishWorktree(f: FinishInput): Promise<Finished> {
  const cwd = f.ws.record.path;
  // Checked before any git run there: a run that removed or replaced the worktree's .git leaves files that no git
  // command may commit, neither to a repository above the folder nor to one the run made in it.
  const state = await worktreeState(cwd, f.ws.cache.gitDir);
  if (state !== 'ok') throw new WorktreeLostError(state, cwd, f.ws.record.key);
  const at = inWorktree(cwd);
  const included = f.ws.record.included ?? [];
  const setupMade = f.ws.record.setupMade ?? [];
  let uncommitted = 0;
  let uncommittedWhy: string | undefined;
  // A merge the run left half done (a resolve that timed out) must not be committed with its conflict markers.
  // MERGE_HEAD is read from the worktree's own git folder (named in its .git file) rather than with one more git process.
  const unmerged = await git(['ls-files', '--unmerged'], at);
  const midMerge = existsSync(join(worktreeGitDir(cwd), 'MERGE_HEAD')) || unmerged.stdout.trim() !== '';
  if (f.autoCommit !== false && !midMerge) {
    // No status pass first: `add --all` on a clean tree stages nothing, and `diff --cached` says whether there is
    // anything to commit (the run may also have staged without committing). The identity check needs no index.
    // Left out of the add, not reset after it: an add that meets a repository with no commit fails as a whole.
    // A repository the setup cloned is the setup's: left out with the rest of what it made, never blamed on the run.
    const nested = (await nestedRepositories(at)).filter((n) => !isLeftOut(`${n}/`, setupMade));
    const apart = [...nested, ...setupMade];
    const add = apart.length > 0 ? git(['add', '--all', '--pathspec-from-file=-', '--pathspec-file-nul'], { ...at, input: addAllExcept(apart) }) : git(['add', '--all'], at);
    const [, identity] = await Promise.all([add, hasIdentity(cwd)]);
    if (nested.length > 0) {
      uncommitted = nested.length;
      uncommittedWhy = nestedRepositoriesWhy(nested, cwd);
    }
    // Literal pathspecs: a copied file's name is matched as it is, never as a glob or pathspec magic.
    if (included.length > 0) await git(['--literal-pathspecs', 'reset', '--quiet', '--', ...included], { ...at, okCodes: [1] });
    const staged = await git(['diff', '--cached', '--quiet'], { ...at, okCodes: [1] });
    if (staged.code === 1) {
      const who = identity ? [] : nodeIdentity(f.node);
      const message = `${f.title}\n\ngitbus task ${f.id}, attempt ${f.attempt}, on ${f.node} (${f.status}): what the run left uncommitted`;
      // No hook runs (--no-verify, and SAFE_CONFIG's empty hooks path for post-commit and the rest): whatever hooks
      // the shared clone names may have been planted by an earlier task, and they would run outside this task's
      // timeout and process group. A run that wants its project's hooks commits itself.
      await git([...who, 'commit', '--quiet', '--no-verify', '-F', '-'], { ...at, input: message, what: 'could not commit the run\'s changes' });
    }
  } else {
    // Left as it is: counted for the response (a status line of an unmerged path is counted like any other).
    const status = await git(['status', '--porcelain', '-z', '--untracked-files=all'], at);
    uncommitted = status.stdout.split('\0').filter(Boolean).filter((l) => !included.includes(l.slice(3)) && !isLeftOut(l.slice(3), setupMade)).length;
    if (uncommitted > 0) uncommittedWhy = midMerge ? 'a merge was left unresolved, so nothing was committed' : 'autoCommit is off';
  }
  const base = f.ws.record.baseCommit;
  const facts = await branchFacts(at, base, 'HEAD');
  const { head, stat: statText } = facts;
  const report: ProjectReport = {
    repo: f.ws.record.repo,
    branch: f.ws.record.branch,
    baseCommit: base,
    headCommit: head,
    pushed: false,
    ...facts.counts,
  };
  const warnings: string[] = [];
  // Counted from the base, a result that dropped it (`reset --hard HEAD~2`, a rebase onto other history) reads as
  // work over it, and its diffstat's removals of the base's lines as the run's, which a merge of it would not make.
  const [containsBase, left] = await Promise.all([head === base || isAncestor(f.ws.cache.gitDir, base, head), leftWork(cwd, f.start, f.ws.record.branch, head)]);
  const baseMissing = !containsBase;
  if (baseMissing) warnings.push(baseMissingWarning(f.ws.record, head, f.node));
  warnings.push(...leftWorkWarnings(f.ws.record, left, head, f.node));
  const lastPushed = lastPushedOf(f.ws.record);
  const apartAtStart = apartOf(f.ws.record);
  return { report, push: { gitDir: f.ws.cache.gitDir, url: f.ws.cache.url, commit: head, branch: f.ws.record.branch, worktree: f.ws.record.key, ...(lastPushed ? { lastPushed } : {}), ...(apartAtStart ? { apartAtStart } : {}) }, stat: statText, uncommitted, ...(uncommittedWhy ? { uncommittedWhy } : {}), baseMissing, warnings, left: left.left, notes: left.notes };
}

/** The Branch section's warning of a result that does not contain its base, with how to see what it dropped. Pure. */
export function baseMissingWarning(r: Pick<WorktreeRecord, 'branch' | 'baseCommit' | 'path'>, head: string, node: string): string {
  const base = r.baseCommit.slice(0, 12);
  return `${r.branch} at ${head.slice(0, 12)} does not contain the task's base ${base}: the run moved it off the base (a reset, a rebase onto other history), so its commits and diffstat are counted against a commit the results lack, and the lines the diffstat shows removed are not what a merge of the results would remove. See what the results lack with git -C ${shellWord(r.path)} log --oneline ${head.slice(0, 12)}..${base} on ${node}; if the run was not meant to drop it, dispatch the task again`;
}

/**
 * What a branch holds over its base, for the response: its head, counts, the newest subjects, the diffstat. `head`
 * stays put while this reads (the run is over), so the facts come from two processes at once: the range's newest
 * commits (the first is the head; one more than the subjects kept, to know whether counting is needed) and the
 * stat, whose last line is the shortstat of all its files, listed or not. A longer range is counted, and an empty
 * one (nothing done) resolves `head`, each with a process of its own.
 */
export async function branchFacts(where: Pick<GitOptions, 'cwd' | 'gitDir' | 'env'>, base: string, head: string): Promise<{ head: string; counts: Pick<ProjectReport, 'commits' | 'subjects' | 'files' | 'insertions' | 'deletions'>; stat: string }> {
  const range = `${base}..${head}`;
  const [log, stat] = await Promise.all([
    git(['log', '--no-show-signature', '--no-color', '--topo-order', `--max-count=${MAX_SUBJECTS + 1}`, '--format=%H %s', range], where),
    git(['diff', '--stat=120', '--stat-count=60', base, head], where),
  ]);
  const newest = log.stdout.split('\n').filter((l) => l !== '');
  const first = newest[0]?.split(' ')[0] ?? '';
  const commit = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(first) ? first : (await git(['rev-parse', head], where)).stdout.trim();
  const count = newest.length <= MAX_SUBJECTS ? newest.length : Number((await git(['rev-list', '--count', range], where)).stdout.trim()) || 0;
  const subjects = newest.slice(0, MAX_SUBJECTS).map((l) => oneLineText(l.slice(l.indexOf(' ') + 1), 200)).filter((s) => s !== '');
  const text = stat.stdout.trimEnd();
  return { head: commit, counts: { commits: count, ...(subjects.length > 0 ? { subjects } : {}), ...parseShortstat(text.split('\n').pop() ?? '') }, stat: text };
}
