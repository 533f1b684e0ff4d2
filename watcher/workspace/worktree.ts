import { existsSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { NodeConfig } from '../../bus/home.js';
import { git } from '../../bus/project/git.js';
import { defaultBranch } from '../../schemas/project.js';
import type { Handoff } from '../../schemas/handoff.js';
import { GitbusError } from '../../schemas/errors.js';
import { commitsOf, ensureCache, fetchProject, isAncestor, refCommit, resolveBase, serialized, type ProjectCache } from './cache.js';
import { copyIncluded } from './include.js';
import { fillEnv, resolveProject, type ProjectSettings } from './project-config.js';
import { readRecord, worktreeKeyFor, worktreePathOf, writeRecord, type WorktreeRecord } from './registry.js';

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
  const project = resolveProject(input.config, h.repo);
  if ('reason' in project) throw new WorkspaceError(project.reason, 'see above');
  const cache = await ensureCache(input.home, project.url);
  await fetchProject(cache);
  const key = worktreeKeyFor(input.home, input.id, h.resumes);
  const path = worktreePathOf(input.home, key);
  const existing = readRecord(input.home, key);
  const now = new Date().toISOString();
  let record: WorktreeRecord;
  let created = false;
  if (existing && existing.url !== project.url) {
    throw new WorkspaceError(`the worktree of ${key} on this node belongs to ${existing.url}, not ${project.url}`, `resume it with repo ${existing.repo}`);
  }
  if (existing && existsSync(join(path, '.git'))) {
    record = { ...existing, tasks: existing.tasks.includes(input.id) ? existing.tasks : [...existing.tasks, input.id] };
  } else if (existing) {
    // The folder went (removed by hand): made again at the same path, from what reached the remote, so a claude
    // session keyed by this folder resumes.
    const start = (await refCommit(cache.gitDir, `refs/remotes/origin/${existing.pushedBranch ?? existing.branch}`)) ?? existing.pushedCommit ?? existing.baseCommit;
    await addWorktree(cache, existing.branch, path, start);
    created = true;
    record = { ...existing, tasks: existing.tasks.includes(input.id) ? existing.tasks : [...existing.tasks, input.id] };
  } else {
    if (h.resumes) throw new WorkspaceError(`task ${h.resumes}, which this task resumes, has no worktree on node ${input.config.node}`, `resume it on the node that ran it (gitbus show ${h.resumes} names it), or dispatch a new task`);
    const branch = h.branch ?? defaultBranch(input.id);
    const remoteRef = `refs/remotes/origin/${branch}`;
    let base: { commit: string; base: string };
    let remoteHead: string | null;
    if (h.baseCommit) {
      // The usual case (dispatch records the commit): one git process says whether the cache has the base commit
      // and where the result branch is on the remote.
      const [known, head] = await commitsOf(cache.gitDir, [h.baseCommit, remoteRef]);
      remoteHead = head ?? null;
      base = await resolveBase(cache, h, typeof known === 'string');
    } else {
      // Lookups that do not depend on each other (resolveBase fetches no remote branch): at once.
      [base, remoteHead] = await Promise.all([resolveBase(cache, h), refCommit(cache.gitDir, remoteRef)]);
    }
    // Left by a crash between making the worktree and recording it: nothing ran there yet.
    if (existsSync(path)) {
      await git(['worktree', 'remove', '--force', path], { gitDir: cache.gitDir, okCodes: [128] });
      rmSync(path, { recursive: true, force: true });
    }
    const start = remoteHead !== null && remoteHead !== base.commit && (await isAncestor(cache.gitDir, base.commit, remoteHead)) ? remoteHead : base.commit;
    await addWorktree(cache, branch, path, start);
    created = true;
    record = { key, path, repo: h.repo, url: project.url, gitDir: cache.gitDir, branch, baseCommit: base.commit, tasks: [input.id], created: now, updated: now };
  }
  if (input.session) record.session = input.session;
  if (created && project.settings?.checkout) {
    try {
      record.included = await copyIncluded(expand(input.home, project.settings.checkout), path, project.settings.include);
    } catch (err) {
      throw new WorkspaceError(`could not copy the project's files into the worktree: ${(err as Error).message.split('\n')[0] ?? ''}`, 'correct projects.<name>.checkout and include in node.yaml');
    }
  }
  writeRecord(input.home, record);
  const cwd = h.workdir ? resolve(path, h.workdir) : path;
  const rel = relative(path, cwd);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new WorkspaceError(`workdir "${h.workdir}" is outside the worktree`, 'give a path inside the project');
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) throw new WorkspaceError(`workdir "${h.workdir}" does not exist in the project at ${record.branch}`, 'give a folder the project has');
  const env = {
    GITBUS_WORKTREE: path,
    GITBUS_BRANCH: record.branch,
    GITBUS_BASE_COMMIT: record.baseCommit,
    GITBUS_REPO: project.url,
    ...fillEnv(project.settings?.env, { id: input.id, branch: record.branch, slot: input.slot, ...(h.group ? { group: h.group } : {}), ...(h.workstream ? { workstream: h.workstream } : {}) }),
  };
  return { record, cache, settings: project.settings, cwd, env, created };
}

async function addWorktree(cache: ProjectCache, branch: string, path: string, start: string): Promise<void> {
  const add = () =>
    git(['worktree', 'add', '--quiet', '-B', branch, path, start], {
      gitDir: cache.gitDir,
      what: `could not make the worktree ${path} on ${branch}`,
      fix: `the branch may be checked out by another task's worktree on this node ("gitbus worktrees" lists them); give the task another --branch`,
    });
  await serialized(cache.gitDir, async () => {
    try {
      await add();
    } catch {
      // A folder removed by hand, or left by a crash between `worktree add` and the record, is still registered
      // (it holds its path and branch): git knows it as prunable. Pruned only when it is in the way, since most
      // adds need no prune and a failed add leaves nothing the retry does not redo (at most `-B` moved the branch
      // to `start`, which it does again).
      await git(['worktree', 'prune'], { gitDir: cache.gitDir });
      await add();
    }
  });
}
