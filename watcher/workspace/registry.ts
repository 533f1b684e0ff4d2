import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { projectPaths } from '../../bus/home.js';
import { writeFileAtomicSync } from '../../bus/local-io.js';

/**
 * What the node knows about each worktree it made (`<home>/worktrees/<key>.json` beside `<home>/worktrees/<key>/`):
 * which project and branch, which tasks ran in it, the claude session that lives there, and what has reached the
 * project remote. `gitbus worktrees` lists these; pruning reads them to never remove unpushed work.
 */
export interface WorktreeRecord {
  /** The id of the task that made it; tasks that resume it run in the same folder. */
  key: string;
  path: string;
  repo: string;
  url: string;
  gitDir: string;
  branch: string;
  baseCommit: string;
  /** Tasks that ran here, oldest first. */
  tasks: string[];
  /** The claude session that lives in this folder (claude keys sessions by directory). */
  session?: string;
  /** The branch's commit after the last run. */
  headCommit?: string;
  /** The commit the project remote last accepted, and on which branch. */
  pushedCommit?: string;
  pushedBranch?: string;
  /** The commit this worktree last pushed to its branch itself (not beside it): what the remote's branch holds while nobody else pushed. */
  onBranch?: string;
  /**
   * The commit the project remote's branch was at when this worktree was made from it (or from local commits on top
   * of it): what the remote's branch holds, before this worktree's first push there, while nobody else pushed.
   * Absent when the branch was not on the remote, or the worktree does not build on it.
   */
  remoteAtStart?: string;
  /**
   * The commit the project remote's branch was at when this worktree was made, when that did not contain the task's
   * base, so the worktree started from the base beside it: a result that is not a fast-forward of the branch while
   * the remote still holds this commit was apart from it from the start, not moved by anyone (watcher/workspace/push.ts).
   */
  apartAtStart?: string;
  /**
   * Commits runs here made on a local branch and left out of their result, not on the project remote when the run
   * ended (watcher/workspace/left-work.ts): prune keeps the worktree while one of them still is (left-record.ts).
   */
  leftOut?: LeftOut[];
  /** The project's setup command has succeeded here. */
  setupDone?: boolean;
  /** Files copied in from the node's checkout (`include`): never committed by gitbus. */
  included?: string[];
  /**
   * What the project's setup command left untracked here (files, or folders as `dir/`), read when it succeeded: the
   * node's preparation, never committed by gitbus, and not counted as work left uncommitted.
   */
  setupMade?: string[];
  created: string;
  updated: string;
}

/** Commits a run left on a local branch of the node's clone, by the newest of them. */
export interface LeftOut {
  /** As the run named it: for people to read, never given back to git (a name need not be UTF-8). */
  branch: string;
  tip: string;
  /** The task whose run made them. */
  task: string;
}

const fileOf = (home: string, key: string) => join(projectPaths(home).worktrees, `${key}.json`);

export function worktreePathOf(home: string, key: string): string {
  return join(projectPaths(home).worktrees, key);
}

export function readRecord(home: string, key: string): WorktreeRecord | null {
  try {
    return JSON.parse(readFileSync(fileOf(home, key), 'utf8')) as WorktreeRecord;
  } catch {
    return null;
  }
}

export function writeRecord(home: string, record: WorktreeRecord): void {
  mkdirSync(projectPaths(home).worktrees, { recursive: true });
  writeFileAtomicSync(fileOf(home, record.key), JSON.stringify({ ...record, updated: new Date().toISOString() }, null, 2), `${fileOf(home, record.key)}.tmp`);
}

export function updateRecord(home: string, key: string, change: (r: WorktreeRecord) => WorktreeRecord): WorktreeRecord | null {
  const r = readRecord(home, key);
  if (!r) return null;
  const next = change(r);
  writeRecord(home, next);
  return next;
}

export function listRecords(home: string): WorktreeRecord[] {
  let names: string[];
  try {
    names = readdirSync(projectPaths(home).worktrees).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const r = readRecord(home, n.slice(0, -'.json'.length));
    return r ? [r] : [];
  });
}

export function removeRecord(home: string, key: string): void {
  rmSync(fileOf(home, key), { force: true });
}

/** The worktree a task runs in: its own, or for a task that resumes another, the one that task ran in (followed back). */
export function worktreeKeyFor(home: string, id: string, resumes: string | undefined): string {
  if (resumes === undefined) return id;
  const owner = listRecords(home).find((r) => r.key === resumes || r.tasks.includes(resumes));
  return owner?.key ?? resumes;
}
