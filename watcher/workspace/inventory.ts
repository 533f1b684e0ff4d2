import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BusContext } from '../../bus/context.js';
import { projectPaths } from '../../bus/home.js';
import { git } from '../../bus/project/git.js';
import { statesOnBus, type StatesOnBus } from '../../bus/ops/task-states.js';
import type { Offline } from '../../bus/ops/query.js';
import { firstLine } from '../../schemas/errors.js';
import { refCommit } from './cache.js';
import { listPendingPushes } from './pending-pushes.js';
import { listRunning, stillRuns } from '../running-record.js';
import { mayPrune, pruneBlockers, type Blocker, type PruneFacts, type TaskOnBus, type WorktreeGitFacts } from './prune-rules.js';
import { listRecords, type WorktreeRecord } from './registry.js';
import { inWorktree, lostReason, worktreeState } from './worktree-git.js';
import { isLeftOut } from './commit-exclusions.js';
import { leftOutHeld } from './left-record.js';

/** One worktree of this node, as `gitbus worktrees` shows it. */
export interface WorktreeRow {
  key: string;
  path: string;
  repo: string;
  url: string;
  branch: string;
  baseCommit: string;
  session: string | null;
  tasks: TaskOnBus[];
  resumers: TaskOnBus[];
  exists: boolean;
  /** Why the folder is there but no worktree of the node's clone any more (the run removed its .git); null otherwise. */
  lost: string | null;
  head: string | null;
  pushedCommit: string | null;
  pushedBranch: string | null;
  unpushed: number | null;
  uncommitted: number | null;
  pendingPush: boolean;
  /**
   * The project remote took the branch after its response went out, and the bus has no delivery saying so yet
   * (docs/PROTOCOL.md §3a, "A push that lands later"): nothing of the work is only here, so it keeps nothing.
   */
  landedPush: boolean;
  /** `gitbus worktrees prune` (no names) would remove it. */
  prunable: boolean;
  /** Why it is kept; `overridable` ones go when the worktree is named. */
  blockers: Blocker[];
  created: string;
  updated: string;
}

/** A folder a task's start found in the way of its worktree, without a record, and moved aside (worktree.ts). */
export interface MovedAside {
  path: string;
  /** When it was moved aside (from its name, `<key>.orphan-<ms>`). */
  movedAt: string;
}

export interface Inventory {
  node: string;
  worktrees: WorktreeRow[];
  /** Nothing of gitbus uses or removes them: they are listed so that a person looks at them. */
  movedAside: MovedAside[];
  offline: Offline | null;
}

/** The folders moved aside in `<home>/worktrees/`, oldest first. */
export function listMovedAside(home: string): MovedAside[] {
  const dir = projectPaths(home).worktrees;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: (MovedAside & { ms: number })[] = [];
  for (const name of names) {
    const ms = Number(/\.orphan-(\d{1,15})$/.exec(name)?.[1] ?? NaN);
    if (!Number.isFinite(ms)) continue;
    try {
      if (!statSync(join(dir, name)).isDirectory()) continue;
    } catch {
      continue;
    }
    out.push({ path: join(dir, name), movedAt: new Date(ms).toISOString(), ms });
  }
  return out.sort((a, b) => a.ms - b.ms).map(({ ms: _ms, ...m }) => m);
}

/** What git says about one worktree: head, commits the project remote lacks (as last fetched), uncommitted files. */
export async function worktreeGitFacts(r: WorktreeRecord): Promise<WorktreeGitFacts> {
  let exists = false;
  try {
    // Asked first: git run in a folder whose .git went would answer for whatever repository is above it.
    const state = await worktreeState(r.path, r.gitDir);
    exists = state === 'ok';
    const lost = state === 'no-git' || state === 'other-repo' ? { lost: lostReason(state, r.path) } : {};
    const at = inWorktree(r.path);
    const head = exists ? (await git(['rev-parse', '--verify', '--quiet', 'HEAD'], { ...at, okCodes: [1] })).stdout.trim() || null : await refCommit(r.gitDir, `refs/heads/${r.branch}`);
    let uncommitted: number | null = 0;
    if (exists) {
      const status = await git(['status', '--porcelain', '-z', '--untracked-files=all'], at);
      const included = r.included ?? [];
      uncommitted = status.stdout.split('\0').filter(Boolean).filter((l) => !included.includes(l.slice(3)) && !isLeftOut(l.slice(3), r.setupMade ?? [])).length;
    } else if ('lost' in lost) {
      // Its files are there, but no git can say which of them are new.
      uncommitted = null;
    }
    // On branches of the clone, not in the folder: looked at whatever became of the worktree.
    const held = await leftOutHeld(r);
    const leftOut = held.length > 0 ? { leftOut: held } : {};
    if (!head) return { exists, head: null, unpushed: exists ? null : 0, uncommitted, ...lost, ...leftOut, ...(exists ? { problem: 'its HEAD cannot be read' } : {}) };
    const count = await git(['rev-list', '--count', head, '--not', '--remotes=origin'], { gitDir: r.gitDir });
    return { exists, head, unpushed: Number(count.stdout.trim()), uncommitted, ...lost, ...leftOut };
  } catch (err) {
    return { exists, head: null, unpushed: null, uncommitted: null, problem: firstLine(err) };
  }
}

/** Rows from facts already gathered. Pure. */
export function inventoryRows(records: WorktreeRecord[], facts: Map<string, WorktreeGitFacts>, bus: Pick<StatesOnBus, 'states' | 'resumers'>, pendingKeys: ReadonlySet<string>, running: ReadonlySet<string>, landedKeys: ReadonlySet<string> = new Set()): (WorktreeRow & { facts: PruneFacts })[] {
  return records.map((r) => {
    const g = facts.get(r.key) ?? { exists: false, head: null, unpushed: null, uncommitted: null, problem: 'not looked at' };
    const tasks = r.tasks.map((id) => ({ id, ...(bus.states.get(id) ?? { state: 'unknown' as const, archived: false }) }));
    const resumers = bus.resumers.filter((x) => r.tasks.includes(x.resumes) && !r.tasks.includes(x.id)).map((x) => ({ id: x.id, state: x.state, archived: false }));
    const pf: PruneFacts = { record: r, git: g, tasks, resumers, pendingPush: pendingKeys.has(r.key), running };
    const blockers = pruneBlockers(pf);
    return {
      key: r.key,
      path: r.path,
      repo: r.repo,
      url: r.url,
      branch: r.branch,
      baseCommit: r.baseCommit,
      session: r.session ?? null,
      tasks,
      resumers,
      exists: g.exists,
      lost: g.lost ?? null,
      head: g.head,
      pushedCommit: r.pushedCommit ?? null,
      pushedBranch: r.pushedBranch ?? null,
      unpushed: g.unpushed,
      uncommitted: g.uncommitted,
      pendingPush: pf.pendingPush,
      landedPush: landedKeys.has(r.key),
      prunable: mayPrune(blockers, false),
      blockers,
      created: r.created,
      updated: r.updated,
      facts: pf,
    };
  });
}

/**
 * This node's worktrees with their tasks' states on the bus and what git says of each. `beforeFacts` runs once per
 * cached clone before git is asked (prune fetches there, so that "on the project remote" is current); a failure
 * it returns becomes that project's worktrees' problem.
 */
export async function readInventory(ctx: BusContext, beforeFacts?: (gitDir: string, url: string) => Promise<string | null>): Promise<{ inventory: Inventory; rows: (WorktreeRow & { facts: PruneFacts })[] }> {
  const home = ctx.paths.home;
  const records = listRecords(home).sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.key < b.key ? -1 : 1));
  const problems = new Map<string, string | null>();
  if (beforeFacts) {
    for (const r of records) if (!problems.has(r.gitDir)) problems.set(r.gitDir, await beforeFacts(r.gitDir, r.url));
  }
  const facts = new Map<string, WorktreeGitFacts>();
  for (const r of records) {
    const f = await worktreeGitFacts(r);
    const problem = problems.get(r.gitDir);
    facts.set(r.key, problem ? { ...f, problem } : f);
  }
  const bus = await statesOnBus(ctx, [...new Set(records.flatMap((r) => r.tasks))]);
  const pushes = listPendingPushes(home);
  const keysOf = (landed: boolean) => new Set(pushes.flatMap((p) => (p.push.worktree && (p.landed !== undefined) === landed ? [p.push.worktree] : [])));
  // A landed entry waits for the bus, not for the project remote: the watcher publishes it without the worktree.
  const rows = inventoryRows(records, facts, bus, keysOf(false), new Set(listRunning(home).filter(stillRuns).map((r) => r.id)), keysOf(true));
  return { inventory: { node: ctx.config.node, worktrees: rows.map(({ facts: _f, ...row }) => row), movedAside: listMovedAside(home), offline: bus.offline }, rows };
}
