import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';
import type { BusContext } from '../../bus/context.js';
import { InputError } from '../../bus/errors.js';
import { projectPaths } from '../../bus/home.js';
import { git } from '../../bus/project/git.js';
import { firstLine } from '../../schemas/errors.js';
import { fetchProject } from './cache.js';
import { readInventory, type WorktreeRow } from './inventory.js';
import { mayPrune, pruneReason, type Blocker } from './prune-rules.js';
import { removeRecord, type WorktreeRecord } from './registry.js';
import { shellWord } from '../../bus/project/shell-word.js';

export interface Pruned {
  key: string;
  path: string;
  branch: string;
  head: string | null;
  reason: string;
  /** The local branch was deleted from the cached clone (it is on the project remote). */
  branchDeleted: boolean;
}

export interface PruneResult {
  dryRun: boolean;
  /** Removed (or, with dryRun, that would be). */
  removed: Pruned[];
  /** Kept, with why; `named` when the person asked for it by key. */
  kept: { key: string; named: boolean; blockers: Blocker[] }[];
}

/** `<home>/logs/worktrees.log`: one line per removal, kept by the node as the record of what went. */
export function pruneLogPath(home: string): string {
  return join(home, 'logs', 'worktrees.log');
}

/**
 * `gitbus worktrees prune [KEY...]`: fetches each project first, so "on the project remote" is current, then
 * removes the worktrees that may go (watcher/workspace/prune-rules.ts): without keys every one nothing keeps;
 * with keys those named, unless work would be lost or a task may still run there. Removal is `git worktree
 * remove` (which refuses a worktree with changes, a second guard), the local branch deleted when the remote has
 * all of it, the record dropped, and one line in `<home>/logs/worktrees.log`.
 */
export async function pruneWorktrees(ctx: BusContext, keys: string[], dryRun: boolean): Promise<PruneResult> {
  const home = ctx.paths.home;
  const { rows } = await readInventory(ctx, async (gitDir, url) => {
    try {
      await fetchProject({ gitDir, url });
      return null;
    } catch (err) {
      return `the project remote ${url} could not be fetched (${firstLine(err)})`;
    }
  });
  const unknown = keys.filter((k) => !rows.some((r) => r.key === k));
  if (unknown.length > 0) {
    throw new InputError(`no worktree ${unknown.join(', ')} on node ${ctx.config.node}`, `"gitbus worktrees" lists this node's worktrees${rows.length ? ` (${rows.map((r) => r.key).slice(0, 10).join(', ')})` : ''}`, { keys: unknown });
  }
  const named = new Set(keys);
  const chosen = keys.length > 0 ? rows.filter((r) => named.has(r.key)) : rows;
  const result: PruneResult = { dryRun, removed: [], kept: [] };
  for (const row of chosen) {
    const isNamed = named.has(row.key);
    if (!mayPrune(row.blockers, isNamed)) {
      result.kept.push({ key: row.key, named: isNamed, blockers: row.blockers });
      continue;
    }
    const reason = pruneReason(row.facts, isNamed);
    if (dryRun) {
      result.removed.push({ key: row.key, path: row.path, branch: row.branch, head: row.head, reason, branchDeleted: false });
      continue;
    }
    try {
      const branchDeleted = await removeWorktree(home, row.facts.record, row);
      appendLog(home, [new Date().toISOString(), row.key, row.branch, row.head ?? '-', reason]);
      result.removed.push({ key: row.key, path: row.path, branch: row.branch, head: row.head, reason, branchDeleted });
    } catch (err) {
      result.kept.push({ key: row.key, named: isNamed, blockers: [{ reason: `git would not remove it: ${firstLine(err)}`, fix: `look at it with git -C ${shellWord(row.path)} status`, overridable: false }] });
    }
  }
  return result;
}

async function removeWorktree(home: string, r: WorktreeRecord, row: WorktreeRow): Promise<boolean> {
  // Only ever a folder of this home's worktrees (the record is the node's own, but a path is checked before removal).
  const rel = relative(projectPaths(home).worktrees, r.path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`${r.path} is not under ${projectPaths(home).worktrees}`);
  if (existsSync(r.path)) {
    await git(['worktree', 'remove', r.path], { gitDir: r.gitDir, what: `could not remove the worktree ${r.path}`, fix: `look at it with git -C ${shellWord(r.path)} status` });
  } else {
    await git(['worktree', 'prune'], { gitDir: r.gitDir });
  }
  let branchDeleted = false;
  const tip = (await git(['rev-parse', '--verify', '--quiet', `refs/heads/${r.branch}`], { gitDir: r.gitDir, okCodes: [1] })).stdout.trim();
  if (tip) {
    const left = await git(['rev-list', '--count', tip, '--not', '--remotes=origin'], { gitDir: r.gitDir });
    // Another worktree on the same branch keeps it (git refuses then too).
    if (Number(left.stdout.trim()) === 0 && row.unpushed === 0) {
      branchDeleted = (await git(['branch', '--delete', '--force', '--', r.branch], { gitDir: r.gitDir, okCodes: [1] })).code === 0;
    }
  }
  removeRecord(home, r.key);
  return branchDeleted;
}

function appendLog(home: string, fields: string[]): void {
  const path = pruneLogPath(home);
  mkdirSync(join(home, 'logs'), { recursive: true });
  appendFileSync(path, `${fields.map((f) => f.replace(/[\t\n]/g, ' ')).join('\t')}\n`);
}
