import { isFinal, type TaskState } from '../../bus/model/types.js';
import type { WorktreeRecord } from './registry.js';
import { shellWord as shq } from '../../bus/project/shell-word.js';
import { lostFix } from './worktree-git.js';
import { leftOutBlocker, type HeldLeftOut } from './left-record.js';

/** A task that ran in a worktree, as the bus knows it now. */
export interface TaskOnBus {
  id: string;
  /** `unknown`: neither on main nor in the archive, or the bus could not be asked. */
  state: TaskState | 'unknown';
  archived: boolean;
}

/** What git says about a worktree now. */
export interface WorktreeGitFacts {
  /** The folder is there and is a worktree. */
  exists: boolean;
  /** Its HEAD (or, with the folder gone, its branch in the cached clone). */
  head: string | null;
  /** Commits of head that no branch of the project remote has (as last fetched); null when git could not say. */
  unpushed: number | null;
  /** Files changed or added and not committed (files copied in from the checkout not counted); null when unknown. */
  uncommitted: number | null;
  /** The folder is there but no worktree of the node's clone (the run removed or replaced its .git): why, said so. */
  lost?: string;
  /** Why `unpushed` or `uncommitted` is unknown (the project remote could not be fetched, the cache is gone). */
  problem?: string;
  /** Commits runs here left on a local branch, out of their results and not on the project remote (left-record.ts). */
  leftOut?: HeldLeftOut[];
}

/** Why a worktree is kept, and what would let it go. */
export interface Blocker {
  reason: string;
  fix: string;
  /** Naming the worktree (`gitbus worktrees prune KEY`) prunes it anyway; never for work that would be lost. */
  overridable: boolean;
}

export interface PruneFacts {
  record: WorktreeRecord;
  git: WorktreeGitFacts;
  tasks: TaskOnBus[];
  /** Live tasks, not ended, that will run in this worktree (they resume one of its tasks). */
  resumers: TaskOnBus[];
  /** The branch waits in `<home>/pushes/` for the project remote. */
  pendingPush: boolean;
  /** Ids of the tasks this node's watcher runs now: records in `<home>/running/` whose process group lives (watcher/running-record.ts stillRuns). */
  running: ReadonlySet<string>;
}

/** The command that saves a worktree's commits on the project remote. Pure. */
export function pushCommand(r: Pick<WorktreeRecord, 'path' | 'branch'>): string {
  return `git -C ${shq(r.path)} push origin ${shq(`HEAD:refs/heads/${r.branch}`)}`;
}

/**
 * Why a worktree must stay (empty: it may go). Never removed, named or not: a task that has not ended or will run
 * there, or that this node still runs whatever the bus says, commits not on the project remote, uncommitted
 * changes, a branch waiting to be pushed, facts that could not be checked. Kept unless named: tasks not archived
 * yet, an archived task whose end is unknown, a claude session that `gitbus resume` continues, commits a run left
 * on another local branch (they stay there). Pure.
 */
export function pruneBlockers(f: PruneFacts): Blocker[] {
  const out: Blocker[] = [];
  const { record: r, git } = f;
  const hard = (reason: string, fix: string) => out.push({ reason, fix, overridable: false });
  const soft = (reason: string, fix: string) => out.push({ reason, fix, overridable: true });
  for (const t of [...f.tasks, ...f.resumers]) {
    const resumer = f.resumers.includes(t);
    if (t.state === 'unknown') hard(`task ${t.id} is neither on the bus nor in its archive, or the bus could not be asked`, `check it with "gitbus show ${t.id}" and try again when the bus can be reached`);
    else if (t.state !== 'invalid' && !isFinal(t.state)) hard(`task ${t.id} ${resumer ? 'resumes it and ' : ''}is ${t.state}`, `wait until it ends, or cancel it ("gitbus cancel ${t.id}")`);
    else if (f.running.has(t.id)) {
      // Its end on the bus may be one nobody on this node wrote (a rewritten response): the run going here says more.
      hard(`task ${t.id} is ${t.state}${t.archived ? ' and archived' : ''} on the bus, but this node runs it now`, `wait until its run ends ("gitbus logs ${t.id} --follow"); a run left by a watcher that died is stopped when the watcher starts again`);
    } else if (t.state === 'invalid' && t.archived) {
      // How it ended is unknown, but this node runs it no more and an archived task is never claimed again: whoever
      // names the worktree decides, as for a session. Waiting for its archived files to be repaired could be for ever.
      soft(`task ${t.id} is archived, but how it ended is unknown (invalid; "gitbus show ${t.id}" says why)`, `an archived task never runs again, and this node no longer runs it; to prune it anyway, name it: gitbus worktrees prune ${r.key}`);
    } else if (t.state === 'invalid') hard(`task ${t.id} ${resumer ? 'resumes it and ' : ''}is invalid, and never ends by itself`, `cancel it ("gitbus cancel ${t.id}"), which ends it, or fix its handoff as "gitbus show ${t.id}" says`);
  }
  if (f.pendingPush) hard(`its branch ${r.branch} waits to be pushed to the project remote`, `the watcher pushes it as soon as ${r.url} takes it ("gitbus show" of its task says why it did not)`);
  if (git.problem !== undefined) hard(`its work could not be checked: ${git.problem}`, 'try again when the project remote can be reached');
  // Its files are only there, and git in it would look at a repository above it: a person takes them out.
  if (git.lost !== undefined) hard(git.lost, lostFix('no-git', r.path, r.key));
  else if (git.uncommitted === null || git.unpushed === null) {
    if (git.problem === undefined) hard('git could not say what it holds', `look at it with git -C ${shq(r.path)} status`);
  } else {
    if (git.uncommitted > 0) {
      hard(`${git.uncommitted} uncommitted file(s)`, `commit and push them: git -C ${shq(r.path)} add --all && git -C ${shq(r.path)} commit -m ${shq(`work left in ${r.key}`)} && ${pushCommand(r)}`);
    }
    if (git.unpushed > 0) hard(`${git.unpushed} commit(s) that the project remote does not have`, `push them: ${pushCommand(r)}`);
  }
  // On a branch of the clone, which removing the worktree keeps: a person decides, and naming it is deciding.
  for (const l of git.leftOut ?? []) {
    const b = leftOutBlocker(r, l);
    soft(b.reason, b.fix);
  }
  const unarchived = f.tasks.filter((t) => isFinal(t.state as TaskState) && !t.archived);
  if (unarchived.length > 0) soft(`task(s) ${unarchived.map((t) => t.id).join(', ')} ended but are not archived yet`, `archive them ("gitbus archive"; the watcher does it after archiveAfter), or name it: gitbus worktrees prune ${r.key}`);
  if (r.session) soft(`it holds claude session ${r.session}, which "gitbus resume ${r.tasks[r.tasks.length - 1] ?? r.key}" continues`, `name it to let the session go: gitbus worktrees prune ${r.key}`);
  return out;
}

/** Whether a worktree goes: without names, when nothing keeps it; named, when only overridable reasons do. Pure. */
export function mayPrune(blockers: Blocker[], named: boolean): boolean {
  return blockers.every((b) => named && b.overridable);
}

/** The log line's reason for a removal. Pure. */
export function pruneReason(f: Pick<PruneFacts, 'record' | 'tasks'>, named: boolean): string {
  const tasks = `tasks ${f.tasks.map((t) => `${t.id} ${t.state}${t.archived ? ' archived' : ''}`).join(', ') || 'none'}`;
  const session = f.record.session ? `; claude session ${f.record.session} let go` : '';
  return `${named ? 'named' : 'ended and archived'}; head on the project remote, nothing uncommitted; ${tasks}${session}`;
}
