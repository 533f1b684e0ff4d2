import { git, lastLines, NETWORK_GIT_MS, outageOf, ProjectGitError, refClash } from '../../bus/project/git.js';
import { headsRefused, parseLsRemote } from '../../bus/project/ls-remote.js';
import { cloneConfigProblem, isAncestor, remoteArgs, remoteEnv } from './cache.js';
import { firstLine } from '../../schemas/errors.js';
import { publishableRepo } from '../../bus/project/remote-url.js';
import { movedBranch, type BesideCause } from '../../schemas/project.js';

/** The remote as a reason names it: its URL on this node without credentials, since the reason is published (a response's pushError, a heartbeat). */
const shown = (url: string): string => publishableRepo(url).repo;

/** A result branch waiting to be pushed: kept in the outbox entry (and in `<home>/pushes/` once the response went out) until the remote has it. */
export interface PendingPush {
  /** The node's cached clone of the project, which holds the commit (worktrees share its objects). */
  gitDir: string;
  url: string;
  commit: string;
  branch: string;
  /** The worktree's key in the registry (watcher/workspace/registry.ts), where a successful push is recorded. */
  worktree?: string;
  /**
   * The commit of `branch` on the remote that this worktree built on (lastPushedOf): the one it last pushed there
   * itself, or, before it pushed there, the one the branch was at when the worktree was made from it. When `branch`
   * refuses a fast-forward, still holds exactly this commit, and `commit` does not contain it, the run rewrote the
   * branch's history (a rebase, an amend); otherwise the branch moved on the remote. Absent in entries stored before
   * it was kept, and for a branch that was not on the remote when the worktree was made and that it has not pushed
   * to yet: the cause is then moved. (The name is the one stored entries have.) For the merge runner, which has no
   * worktree: the branch's commit on the remote that its merges started from or built on (start-facts.ts).
   */
  lastPushed?: string;
  /**
   * The commit `branch` was at on the remote when this worktree was made, when it did not contain the task's base
   * and the worktree started beside it (the registry's `apartAtStart`, until the worktree pushed to `branch`
   * itself: apartOf): when `branch` refuses a fast-forward and still holds exactly this commit, nobody moved it; the
   * results were apart from it from the start. For the merge runner: the branch's commit on the remote when it
   * lacked the base, so the merges started from the base beside it.
   */
  apartAtStart?: string;
  /** When the first try failed, for how long a response is held back by an outage. */
  firstFailedAt?: string;
  lastTriedAt?: string;
}

export type PushResult =
  /**
   * `moved`: the branch the results were meant for, which refused a fast-forward, so they went beside it to
   * `branch`; `rewritten`, when that was because the run rewrote the history (pendingPush.lastPushed, which the
   * remote's branch still holds and the worktree built on, is not in the result), not because the branch moved on
   * the remote; `apart`, when it was because `branch` did not build on the task's base to begin with (the commit
   * it was at when the worktree was made, and still is).
   */
  | ({ kind: 'pushed'; branch: string } & BesideCause)
  | { kind: 'outage'; reason: string }
  | { kind: 'refused'; reason: string };

// Down in schemas/, where the response's Branch section (bus/ops/respond.ts) reads it too.
export type { BesideCause } from '../../schemas/project.js';

/** The cause fields a result carries on: only those set, as every reader of an event or a stored entry expects. Pure. */
export function besideCause(r: BesideCause): BesideCause {
  return { ...(r.moved ? { moved: r.moved } : {}), ...(r.rewritten ? { rewritten: r.rewritten } : {}), ...(r.apart ? { apart: r.apart } : {}) };
}

// Down in schemas/, where a delivery's reader (bus/model/delivery-merge.ts) checks a branch against it too.
export { movedBranch } from '../../schemas/project.js';

/**
 * The commit of its branch on the remote a worktree built on (its registry record, watcher/workspace/registry.ts):
 * what the remote's branch still holds unless someone else pushed there. The one it last pushed there itself
 * (records from before `onBranch` was kept: their last push, when it went to the branch); before any, the one the
 * branch was at when the worktree was made from it: either way the run started from it, so a result that lacks it
 * while the remote still holds it is a rewrite of the branch, not a move of it. Pure.
 */
export function lastPushedOf(r: { branch: string; onBranch?: string; pushedCommit?: string; pushedBranch?: string; remoteAtStart?: string }): string | undefined {
  if (r.onBranch) return r.onBranch;
  if (r.pushedCommit && r.pushedBranch === r.branch) return r.pushedCommit;
  return r.remoteAtStart;
}

/**
 * The commit its branch was at on the remote when a worktree was made beside it (it lacked the task's base), while
 * the worktree has not pushed to the branch itself since: what the remote's branch still holds unless someone
 * pushed there. Pure.
 */
export function apartOf(r: { branch: string; apartAtStart?: string; onBranch?: string; pushedCommit?: string; pushedBranch?: string }): string | undefined {
  return r.apartAtStart && !r.onBranch && r.pushedBranch !== r.branch ? r.apartAtStart : undefined;
}

/** Whether git's push output says the ref moved (non-fast-forward, or newer work there to fetch first). Pure. */
export function isMoved(output: string): boolean {
  return /\[rejected\].*(non-fast-forward|fetch first)|\(non-fast-forward\)|\(fetch first\)|stale info/.test(output);
}

/** What the remote said when it refused (its hook's `remote:` lines) and the refusal itself, on one line. Pure. */
export function refusalText(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim());
  const remote = lines.filter((l) => l.startsWith('remote:')).map((l) => l.slice('remote:'.length).trim()).filter(Boolean);
  const rejected = lines.filter((l) => /^! \[/.test(l));
  const said = [...remote.slice(-5), ...rejected.slice(0, 2)].join(' / ');
  return (said || lastLines(stderr, 2)).slice(0, 800);
}

/**
 * Why a push to the branch was not a fast-forward: `rewritten` when the remote's branch (`tip`, null when it could
 * not be read) still holds exactly the commit of it this worktree built on (lastPushedOf) and the result does not contain it
 * (`ancestor` false: the run dropped it by a rebase or an amend); `apart` when it still holds exactly the commit it
 * was at when the worktree was made beside it (apartOf: it lacked the task's base), so nobody pushed there; `moved`
 * otherwise (someone else pushed to the branch, maybe as well, or nothing is known to tell). Pure.
 */
export function notFastForwardCause(lastPushed: string | undefined, tip: string | null, ancestor: boolean | null, apart?: string): 'moved' | 'rewritten' | 'apart' {
  if (lastPushed !== undefined && tip === lastPushed && ancestor === false) return 'rewritten';
  return apart !== undefined && tip === apart ? 'apart' : 'moved';
}

/**
 * The commit the project remote's `branch` is at now; null when it has none or cannot be asked. Asked of its
 * branches (`--heads`): a name alone sends the remote no prefix, and it lists every ref, a host's pull requests'
 * too (bus/project/ls-remote.ts); every ref from a git without `--heads` (headsRefused).
 */
async function remoteTip(p: PendingPush, branch: string, timeoutMs: number): Promise<string | null> {
  // A clone whose config could answer for another remote (cache.ts cloneConfigProblem) cannot be asked.
  if (await cloneConfigProblem(p.gitDir)) return null;
  for (const scope of [['--heads'], []]) {
    try {
      const r = await git(['ls-remote', ...scope, ...remoteArgs(p), `refs/heads/${branch}`], { gitDir: p.gitDir, env: remoteEnv(p), timeoutMs });
      return parseLsRemote(r.stdout).refs.get(`refs/heads/${branch}`) ?? null;
    } catch (err) {
      if (!(scope.length > 0 && headsRefused(err))) return null;
    }
  }
  return null;
}

async function pushOnce(p: PendingPush, branch: string, timeoutMs: number): Promise<PushResult | { kind: 'moved' }> {
  const problem = await cloneConfigProblem(p.gitDir);
  if (problem) return { kind: 'refused', reason: `${firstLine(problem)} (fix: ${problem.fix})` };
  try {
    // To the URL and the full ref: never the clone's `origin` (cache.ts remoteArgs), whose pushurl a task may have set.
    await git(['push', ...remoteArgs(p), `${p.commit}:refs/heads/${branch}`], { gitDir: p.gitDir, env: remoteEnv(p), timeoutMs, what: `could not push ${branch} to ${p.url}` });
    // A push to a URL moves no remote-tracking ref (a push to `origin` did): done here, or `gitbus worktrees`
    // would count the commits just pushed as unpushed until the next fetch. Not worth failing a push that landed.
    await git(['update-ref', `refs/remotes/origin/${branch}`, p.commit], { gitDir: p.gitDir }).catch(() => undefined);
    return { kind: 'pushed', branch };
  } catch (err) {
    if (!(err instanceof ProjectGitError)) return { kind: 'refused', reason: (err as Error).message.split('\n')[0] ?? 'push failed' };
    if (isMoved(err.stderr)) return { kind: 'moved' };
    const outage = outageOf(err.stderr);
    if (outage !== null) return { kind: 'outage', reason: `the project remote ${shown(p.url)} cannot be reached (${outage})` };
    const clash = refClash(err.stderr);
    if (clash) return { kind: 'refused', reason: `the project remote ${shown(p.url)} cannot take ${branch}: it has a branch ${clash.existing}, and git cannot have a branch both as a name and as a folder of branches (delete or rename ${clash.existing} there, and the push is tried again)` };
    return { kind: 'refused', reason: `the project remote ${shown(p.url)} refused the push of ${branch}: ${refusalText(err.stderr) || `exit code ${err.exitCode ?? '?'}`}` };
  }
}

/**
 * Pushes a result branch without ever forcing: a fast-forward, or, when it is not one, to `<branch>-moved-<commit>`
 * beside it, so that neither the remote's work nor the task's is lost. Not a fast-forward either because the
 * branch moved on the remote, because the run rewrote its history (`rewritten`), or because the branch never
 * built on the task's base (`apart`): notFastForwardCause.
 */
export async function pushResult(p: PendingPush, timeoutMs = NETWORK_GIT_MS): Promise<PushResult> {
  const first = await pushOnce(p, p.branch, timeoutMs);
  if (first.kind !== 'moved') return first;
  const beside = movedBranch(p.branch, p.commit);
  const second = await pushOnce(p, beside, timeoutMs);
  if (second.kind === 'moved') return { kind: 'refused', reason: `both ${p.branch} and ${beside} moved on ${shown(p.url)}` };
  if (second.kind !== 'pushed') return second;
  // Asked only when the worktree built on the branch's commit, or started beside it: one more round trip, on a push
  // that was refused anyway.
  const tip = p.lastPushed === undefined && p.apartAtStart === undefined ? null : await remoteTip(p, p.branch, timeoutMs);
  // git cannot tell (an object the clone lacks): null, taken as moved.
  const cause = notFastForwardCause(p.lastPushed, tip, tip === null || p.lastPushed === undefined || tip !== p.lastPushed ? null : await isAncestor(p.gitDir, p.lastPushed, p.commit).catch(() => null), p.apartAtStart);
  const why = cause === 'rewritten' && p.lastPushed ? { rewritten: p.lastPushed } : cause === 'apart' && p.apartAtStart ? { apart: p.apartAtStart } : {};
  return { kind: 'pushed', branch: beside, moved: p.branch, ...why };
}
