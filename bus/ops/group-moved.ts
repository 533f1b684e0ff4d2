import { isFinal } from '../model/types.js';
import { dispatchedBefore } from '../model/merged-branches.js';
import type { GroupTask } from './group.js';

/**
 * A workstream whose branch a `gitbus resume` changed, or may still change, after the group was integrated: the
 * integration's branch lacks what the resume added, so "integrated" would no longer be true of the group.
 */
export interface MovedSince {
  workstream: string;
  /** The resume (or a resume of it) that moved the branch, or runs now. */
  by: string;
  /** true: it ended with new commits on the branch; false: it has not ended yet, so it may. */
  moved: boolean;
}

/** The workstream a follow-up resumes, through a chain of resumes; null when it resumes no workstream of the group. Pure. */
function resumedWorkstream(t: GroupTask, byId: ReadonlyMap<string, GroupTask>): { workstream: GroupTask; previous: GroupTask | undefined } | null {
  let at: GroupTask | undefined = t;
  const previous = t.resumes === null ? undefined : byId.get(t.resumes);
  // Bounded: a chain of resumes read from the bus could loop.
  for (let i = 0; i < 100 && at; i++) {
    if (at.workstream !== null) return at === t ? null : { workstream: at, previous };
    at = at.resumes === null ? undefined : byId.get(at.resumes);
  }
  return null;
}

/**
 * The workstreams resumed after `settled` (the integration that succeeded, or the follow-up that resolved it) was
 * dispatched, or being resumed now: each with the resume that moved its branch (new commits pushed there, a head other
 * than the one of the task it resumed) or may still move it (not ended). A resume that ended without moving the branch
 * changes nothing. Pure.
 */
export function movedSinceIntegration(workstreams: readonly GroupTask[], others: readonly GroupTask[], settled: GroupTask | null): MovedSince[] {
  if (settled === null) return [];
  const byId = new Map([...workstreams, ...others].map((t) => [t.id, t]));
  const out: MovedSince[] = [];
  for (const o of others) {
    if (o.resumes === null) continue;
    const found = resumedWorkstream(o, byId);
    if (!found?.workstream.workstream) continue;
    const live = o.state === 'unknown' || !isFinal(o.state);
    // A resume that ended was merged already when it was dispatched before the settle (as far as ids tell: by hand, taken as before).
    if (!live && dispatchedBefore(o, settled)) continue;
    const p = o.project;
    const moved = !live && p !== null && p.pushed && p.headCommit !== (found.previous?.project?.headCommit ?? p.baseCommit);
    if (live || moved) out.push({ workstream: found.workstream.workstream, by: o.id, moved });
  }
  return out;
}
