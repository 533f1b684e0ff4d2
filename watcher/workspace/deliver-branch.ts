import { publishedRemote } from '../../bus/project/remote-url.js';
import type { OutboxEntry } from '../outbox.js';
import { listPendingPushes, putPendingPush, type PendingPushEntry } from './pending-pushes.js';
import { apartOf, besideCause, lastPushedOf, pushResult, type BesideCause, type PendingPush } from './push.js';
import { readRecord, updateRecord } from './registry.js';

/** How long an outage of the project remote holds a response back before it goes out saying the branch is not pushed yet. */
export const PUSH_HOLD_MS = 10 * 60_000;
/** How often a branch whose push was refused is tried again, at first. */
export const PUSH_RETRY_MS = 60_000;
/** The longest wait between tries of a branch the remote has refused for long: a host's push budget is the fleet's. */
export const PUSH_RETRY_MAX_MS = 30 * 60_000;

/**
 * Whether a branch waiting in `<home>/pushes/` is due for another try: `everyMs` after the last while it has failed
 * for a few minutes, then a quarter of the time it has been failing, up to PUSH_RETRY_MAX_MS (a remote that refuses
 * for a day is tried every half hour, not 1,440 times). Pure.
 */
export function pushTryDue(push: Pick<PendingPush, 'firstFailedAt' | 'lastTriedAt'>, now: number, everyMs = PUSH_RETRY_MS): boolean {
  const last = push.lastTriedAt === undefined ? NaN : Date.parse(push.lastTriedAt);
  if (!Number.isFinite(last)) return true;
  const first = push.firstFailedAt === undefined ? NaN : Date.parse(push.firstFailedAt);
  const failingMs = Number.isFinite(first) ? Math.max(0, now - first) : 0;
  return now - last >= Math.min(PUSH_RETRY_MAX_MS, Math.max(everyMs, failingMs / 4));
}

export type BranchStep =
  | { go: true; pushed?: { branch: string } & BesideCause }
  /** Held back by an outage of the project remote: the entry stays queued and is tried at the next delivery. */
  | { go: false; reason: string };

/**
 * The first half of delivering a project task's result: its branch goes to the project remote before its response
 * goes to the bus, so that a response never names a branch nobody can fetch while the node could still push it.
 * An outage holds the response back (for PUSH_HOLD_MS at most); a refusal, or a longer outage, lets the response
 * go saying why the branch is not there yet, and the push continues from `<home>/pushes/`. Updates `entry` in
 * place; the caller stores it again.
 */
export async function pushBeforeResponse(home: string, entry: OutboxEntry, now = Date.now()): Promise<BranchStep> {
  const project = entry.input.project;
  const push = entry.push;
  if (!push || !project || project.pushed) return { go: true };
  if (push.worktree && push.lastTriedAt === undefined) {
    // At the first try, what the worktree last pushed to its branch as known now: the run was prepared (and
    // `lastPushed` read) maybe before the previous result's push was done. Kept in the entry for the retries.
    const rec = readRecord(home, push.worktree);
    const last = rec ? lastPushedOf(rec) : undefined;
    if (last) push.lastPushed = last;
    // And whether the branch is still the one it started beside: not once the worktree pushed to it itself.
    const apart = rec ? apartOf(rec) : undefined;
    if (apart) push.apartAtStart = apart;
    else delete push.apartAtStart;
  }
  const r = await pushResult(push);
  push.lastTriedAt = new Date(now).toISOString();
  if (r.kind === 'pushed') {
    entry.input.project = { ...project, pushed: true, branch: r.branch };
    delete entry.input.project.pushError;
    const url = publishedRemote(project.repo, push.url);
    if (url) entry.input.projectUrl = url;
    if (r.moved) entry.input.branchMoved = r.moved;
    if (r.rewritten) entry.input.branchRewritten = r.rewritten;
    if (r.apart) entry.input.branchApart = r.apart;
    delete entry.push;
    if (push.worktree) updateRecord(home, push.worktree, (w) => ({ ...w, pushedCommit: push.commit, pushedBranch: r.branch, ...(r.branch === push.branch ? { onBranch: push.commit } : {}) }));
    return { go: true, pushed: { branch: r.branch, ...besideCause(r) } };
  }
  push.firstFailedAt ??= new Date(now).toISOString();
  if (r.kind === 'outage' && now - Date.parse(push.firstFailedAt) < PUSH_HOLD_MS) return { go: false, reason: r.reason };
  entry.input.project = { ...project, pushed: false, pushError: r.reason.slice(0, 1000) };
  putPendingPush(home, { id: entry.id, attempt: entry.attempt, push });
  delete entry.push;
  return { go: true };
}

/**
 * Tries the branches whose responses went out without them, each at most every `everyMs`. Returns those now pushed;
 * each stays listed, `landed`, until its delivery is on the bus (landedPushes, removePendingPush).
 */
export async function retryPendingPushes(home: string, everyMs = PUSH_RETRY_MS, now = Date.now()): Promise<({ id: string; attempt: number; branch: string; url: string } & BesideCause)[]> {
  const done: ({ id: string; attempt: number; branch: string; url: string } & BesideCause)[] = [];
  for (const e of listPendingPushes(home)) {
    if (e.landed) continue;
    if (!pushTryDue(e.push, now, everyMs)) continue;
    const r = await pushResult(e.push);
    if (r.kind === 'pushed') {
      putPendingPush(home, { ...e, landed: { branch: r.branch, headCommit: e.push.commit, at: new Date(now).toISOString() } });
      if (e.push.worktree) updateRecord(home, e.push.worktree, (w) => ({ ...w, pushedCommit: e.push.commit, pushedBranch: r.branch, ...(r.branch === e.push.branch ? { onBranch: e.push.commit } : {}) }));
      done.push({ id: e.id, attempt: e.attempt, branch: r.branch, url: e.push.url, ...besideCause(r) });
    } else {
      putPendingPush(home, { ...e, push: { ...e.push, lastTriedAt: new Date(now).toISOString() } });
    }
  }
  return done;
}

/** The pushes that landed and whose delivery the bus does not have yet, oldest first. */
export function landedPushes(home: string): (PendingPushEntry & { landed: NonNullable<PendingPushEntry['landed']> })[] {
  return listPendingPushes(home)
    .flatMap((e) => (e.landed ? [{ ...e, landed: e.landed }] : []))
    .sort((a, b) => (a.landed.at < b.landed.at ? -1 : a.landed.at > b.landed.at ? 1 : 0));
}
