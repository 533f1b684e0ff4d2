import { existsSync, realpathSync, renameSync, statSync } from 'node:fs';
import { homedir } from '../../bus/user-home-dir.js';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { NodeConfig } from '../../bus/home.js';
import { git, ProjectGitError, refClash } from '../../bus/project/git.js';
import { defaultBranch } from '../../schemas/project.js';
import type { Handoff } from '../../schemas/handoff.js';
import { GitbusError } from '../../schemas/errors.js';
import { commitsOf, ensureCache, fetchProject, isAncestor, refCommit, resolveBase, serialized, type ProjectCache } from './cache.js';
import { DEFAULT_FETCH_WAIT, outageHold, type FetchWait } from './fetch-retry.js';
import { copyIncluded } from './include.js';
import { fillEnv, resolveProject, type ProjectSettings } from './project-config.js';
import { readRecord, worktreeKeyFor, worktreePathOf, writeRecord, type WorktreeRecord } from './registry.js';
import { startFacts } from './start-facts.js';
import { shellWord } from '../../bus/project/shell-word.js';

export class WorkspaceError extends GitbusError {
  readonly code = 'WORKSPACE';
}

/** A project task's worktree, ready for its runner. */
export interface PreparedWorkspace {
  record: WorktreeRecord;
  cache: ProjectCache;
  settings: ProjectSettings | null;
  /** Where the runner runs: the worktree, or the handoff's workdir inside it. */
  cwd: string;
  env: Record<string, string>;
  /** Made for this run (so the project's setup command runs), not reused from an earlier one. */
  created: boolean;
  /** Files of the checkout not copied in, each with why (a symbolic link on the way): for the task's log. */
  skippedIncludes: string[];
}

export interface PrepareInput {
  home: string;
  config: NodeConfig;
  id: string;
  attempt: number;
  handoff: Handoff;
  /** The run's slot on this node (`{slot}` in a project's env). */
  slot: number;
  /** The claude session this run has, recorded with the worktree so that it is resumed there. */
  session?: string;
  /** Stops the waits between fetch retries when the task is cancelled. */
  abort?: AbortSignal;
  /** How long the first fetch waits for a project remote it cannot reach (fetch-retry.ts). */
  fetchWait?: FetchWait;
  /** A line for the task's log: each fetch that found the project remote out of reach. */
  note?: (line: string) => void;
}

function expand(home: string, path: string): string {
  const p = path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
  return resolve(home, p);
}

/**
 * The worktree a project task runs in, on the node's cached clone of the project: made at the base commit on the
 * result branch (or at the branch's head on the remote when that already contains the base, so that a second
 * task on one branch continues it), with the project's ignored files copied in; or, for a task that resumes
 * another, or a retried attempt on this node, the worktree that is already there, untouched.
 */
export async function prepareWorktree(input: PrepareInput): Promise<PreparedWorkspace> {
  const h = input.handoff;
  if (!h.repo) throw new WorkspaceError('the task names no repo', 'add "repo:" to the handoff');
  const project = resolveProject(input.config, h.repo, { home: input.home, userHome: homedir() });
  if ('reason' in project) throw new WorkspaceError(project.reason, 'see above');
  const cache = await ensureCache(input.home, project.url);
  // One hold for every step that asks the remote: an outage after the fetch worked waits as one before it does.
  const hold = outageHold(cache.url, input.fetchWait ?? DEFAULT_FETCH_WAIT, input.abort, input.note);
  await hold.run(() => fetchProject(cache));
  const key = worktreeKeyFor(input.home, input.id, h.resumes);
  const path = worktreePathOf(input.home, key);
  const existing = readRecord(input.home, key);
  const now = new Date().toISOString();
  let record: WorktreeRecord;
  let created = false;
  let skippedIncludes: string[] = [];
  if (existing && existing.url !== project.url) {
    throw new WorkspaceError(`the worktree of ${key} on this node belongs to ${existing.url}, not ${project.url}`, `resume it with repo ${existing.repo}`);
  }
  if (existing && existsSync(join(path, '.git'))) {
    record = { ...existing, tasks: existing.tasks.includes(input.id) ? existing.tasks : [...existing.tasks, input.id] };
  } else if (existing) {
    // The folder went (removed by hand): made again at the same path, from what reached the remote, so a claude
    // session keyed by this folder resumes.
    const start = (await refCommit(cache.gitDir, `refs/remotes/origin/${existing.pushedBranch ?? existing.branch}`)) ?? existing.pushedCommit ?? existing.baseCommit;
    await addWorktree(cache, existing.branch, path, await keepLocalWork(cache, existing.branch, start, existing.baseCommit));
    created = true;
    record = { ...existing, tasks: existing.tasks.includes(input.id) ? existing.tasks : [...existing.tasks, input.id] };
  } else {
    if (h.resumes) {
      // Its session lived in that folder, so no resume can continue it; its branch can be continued by a new task.
      // The response's reason is this message alone (run-task.ts), so the fix is in it as well.
      const branch = h.branch ?? defaultBranch(h.resumes);
      const its = shellWord(branch);
      // A branch never pushed (its run failed without a commit over the base) is no base to dispatch from: its base is.
      const pushed = (await refCommit(cache.gitDir, `refs/remotes/origin/${branch}`)) !== null;
      const from = pushed ? its : shellWord(h.base ?? h.baseCommit ?? branch);
      const fix = `if it ran on another node, resume it there (gitbus show ${h.resumes} names the node); if its worktree was pruned ("gitbus worktrees prune", logs/worktrees.log on ${input.config.node}), its session cannot continue: dispatch a new task on its branch instead, gitbus dispatch TITLE --repo ${shellWord(h.repo)} --base ${from} --branch ${its}${pushed ? '' : ` (${branch} is not on the project remote, so the new task starts from its base)`}`;
      throw new WorkspaceError(`task ${h.resumes}, which this task resumes, has no worktree on node ${input.config.node}: ${fix}`, fix);
    }
    const branch = h.branch ?? defaultBranch(input.id);
    const remoteRef = `refs/remotes/origin/${branch}`;
    let base: { commit: string; base: string };
    let remoteHead: string | null;
    let localHead: string | null | undefined;
    if (h.baseCommit) {
      // The usual case (dispatch records the commit): one git process says whether the cache has the base commit
      // and where the result branch is on the remote.
      const [known, head, local] = await commitsOf(cache.gitDir, [h.baseCommit, remoteRef, `refs/heads/${branch}`]);
      remoteHead = head ?? null;
      localHead = local ?? null;
      base = await hold.run(() => resolveBase(cache, h, typeof known === 'string'));
    } else {
      // Lookups that do not depend on each other (resolveBase fetches no remote branch): at once.
      [base, remoteHead] = await Promise.all([hold.run(() => resolveBase(cache, h)), refCommit(cache.gitDir, remoteRef)]);
    }
    // A folder without a record: left by a crash between making the worktree and recording it, or a record that
    // could not be read. Moved aside, never deleted: whatever is in it stays for a person to look at.
    if (existsSync(path)) {
      const aside = `${path}.orphan-${Date.now()}`;
      renameSync(path, aside);
      // Said, so that a person knows the folder is there to look at ("gitbus worktrees" lists it too).
      input.note?.(`gitbus: ${path} was in the way without a record of this node (left by a crash, or a record that could not be read): moved aside to ${aside}, kept as it was; remove it once nothing in it is needed`);
      await git(['worktree', 'prune'], { gitDir: cache.gitDir });
    }
    const fromRemote = remoteHead !== null && remoteHead !== base.commit && (await isAncestor(cache.gitDir, base.commit, remoteHead)) ? remoteHead : base.commit;
    const start = await keepLocalWork(cache, branch, fromRemote, base.commit, localHead);
    await addWorktree(cache, branch, path, start);
    created = true;
    const onRemote = await startFacts(cache.gitDir, remoteHead, start);
    record = { key, path, repo: h.repo, url: project.url, gitDir: cache.gitDir, branch, baseCommit: base.commit, ...onRemote, tasks: [input.id], created: now, updated: now };
  }
  if (input.session) record.session = input.session;
  if (created && project.settings?.checkout) {
    try {
      const inc = await copyIncluded(expand(input.home, project.settings.checkout), path, project.settings.include);
      record.included = inc.copied;
      skippedIncludes = inc.skipped;
    } catch (err) {
      throw new WorkspaceError(`could not copy the project's files into the worktree: ${(err as Error).message.split('\n')[0] ?? ''}`, 'correct projects.<name>.checkout and include in node.yaml');
    }
  }
  writeRecord(input.home, record);
  const cwd = h.workdir ? resolve(path, h.workdir) : path;
  // Checked on the real path too: the project (from the bus) may hold a symlink that leads out of the worktree.
  const rel = relative(realpathSync(path), existsSync(cwd) ? realpathSync(cwd) : cwd);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new WorkspaceError(`workdir "${h.workdir}" is outside the worktree`, 'give a path inside the project');
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) throw new WorkspaceError(`workdir "${h.workdir}" does not exist in the project at ${record.branch}`, 'give a folder the project has');
  const env = {
    GITBUS_WORKTREE: path,
    GITBUS_BRANCH: record.branch,
    GITBUS_BASE_COMMIT: record.baseCommit,
    GITBUS_REPO: project.url,
    ...fillEnv(project.settings?.env, { id: input.id, branch: record.branch, slot: input.slot, ...(h.group ? { group: h.group } : {}), ...(h.workstream ? { workstream: h.workstream } : {}) }),
  };
  return { record, cache, settings: project.settings, cwd, env, created, skippedIncludes };
}

async function addWorktree(cache: ProjectCache, branch: string, path: string, start: string): Promise<void> {
  const add = (args: string[]) =>
    git(['worktree', 'add', '--quiet', ...args], {
      gitDir: cache.gitDir,
      what: `could not make the worktree ${path} on ${branch}`,
      fix: 'check the project cache with "gitbus worktrees"; the task can be dispatched again',
    });
  await serialized(cache.gitDir, async () => {
    try {
      await add(['-B', branch, path, start]);
    } catch (first) {
      const clash = refClash(first instanceof ProjectGitError ? first.stderr : '');
      if (clash) {
        throw new WorkspaceError(
          `the branch ${clash.wanted} cannot be made in this node's clone of ${cache.url}: it has a branch ${clash.existing}, and git cannot have a branch both as a name and as a folder of branches`,
          `dispatch the task with another --branch; ${clash.existing} came from an earlier task: once its worktree is pruned, delete it with git --git-dir ${shellWord(cache.gitDir)} branch -D ${shellWord(clash.existing)}`,
        );
      }
      // A folder removed by hand, or left by a crash between `worktree add` and the record, is still registered
      // (it holds its path and branch): git knows it as prunable. Pruned only when it is in the way, since most
      // adds need no prune and a failed add leaves nothing the retry does not redo (at most `-B` moved the branch
      // to `start`, which it does again).
      await git(['worktree', 'prune'], { gitDir: cache.gitDir });
      try {
        await add(['-B', branch, path, start]);
      } catch {
        // The branch is checked out by another task's worktree on this node (an earlier task on the same branch):
        // this run works on a detached HEAD at the same start; its commits are pushed to the branch all the same.
        if (!/already checked out|is already used by worktree/.test(first instanceof ProjectGitError ? first.stderr : '')) throw first;
        await add(['--detach', path, start]);
      }
    }
  });
}

/**
 * Where to start so that no commit of this node is dropped: the local branch in the cache may hold commits the
 * remote has not got yet (a push refused, a worktree removed by hand); `worktree add -B` would reset it. When it
 * has such commits and builds on the base, work continues from it; when it does not build on the base, the task
 * fails rather than lose them.
 */
async function keepLocalWork(cache: ProjectCache, branch: string, start: string, base: string, known?: string | null): Promise<string> {
  const local = known !== undefined ? known : await refCommit(cache.gitDir, `refs/heads/${branch}`);
  if (local === null || local === start || (await isAncestor(cache.gitDir, local, start))) return start;
  // Every commit of it is on the remote already (an earlier task's branch, pushed): nothing to lose.
  const unpushed = await git(['rev-list', '--count', local, '--not', '--remotes=origin'], { gitDir: cache.gitDir });
  if (Number(unpushed.stdout.trim()) === 0) return start;
  if (await isAncestor(cache.gitDir, start, local)) return local;
  if (await isAncestor(cache.gitDir, base, local)) return local;
  throw new WorkspaceError(`the branch ${branch} on this node holds commits that are neither on the project remote nor built on this task's base`, keepLocalFix(cache.gitDir, branch));
}

/** How to save such commits before the task runs again: a push beside the branch (`branch` quoted, it comes from the bus). Pure. */
export function keepLocalFix(gitDir: string, branch: string): string {
  return `push them first (git --git-dir ${shellWord(gitDir)} push origin ${shellWord(`${branch}:refs/heads/${branch}-kept`)}), or give the task another --branch`;
}
