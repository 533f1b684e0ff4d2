import type { BusContext } from '../context.js';
import { isFinal, type TaskState } from '../model/types.js';
import { findCounted } from './archived-trust.js';
import { snapshotOrLast, type Offline } from './query.js';

export interface TaskStateOnBus {
  state: TaskState | 'unknown';
  archived: boolean;
}

export interface StatesOnBus {
  states: Map<string, TaskStateOnBus>;
  /** Live tasks that have not ended and resume one of the asked-about ids. */
  resumers: { id: string; state: TaskState; resumes: string }[];
  /** Set when the remote could not be reached: states are as this node last knew them, archived ones unknown. */
  offline: Offline | null;
}

/**
 * The states of tasks by id, live or archived (the archive is read only for ids that are not live), and the live
 * tasks that will continue one of them (`resumes`). For `gitbus worktrees`, which keeps a worktree while any of
 * them may still run there.
 */
export async function statesOnBus(ctx: BusContext, ids: string[]): Promise<StatesOnBus> {
  if (ids.length === 0) return { states: new Map(), resumers: [], offline: null };
  const { snap, offline } = await snapshotOrLast(ctx);
  const states = new Map<string, TaskStateOnBus>();
  const wanted = new Set(ids);
  const resumers: StatesOnBus['resumers'] = [];
  for (const v of await snap.allViews()) {
    if (wanted.has(v.id)) states.set(v.id, { state: v.state, archived: false });
    const resumes = v.handoff?.resumes;
    if (resumes !== undefined && wanted.has(resumes) && !isFinal(v.state)) resumers.push({ id: v.id, state: v.state, resumes });
  }
  const missing = ids.filter((id) => !states.has(id));
  if (missing.length > 0 && !offline) {
    try {
      // As this node counts them: one whose response is forged in a node's name did not end (`invalid`), so its
      // worktree is kept.
      for (const [id, { entry }] of await findCounted(ctx, missing)) states.set(id, { state: entry.state, archived: true });
    } catch {
      // The archive could not be read: those tasks stay unknown, which keeps their worktrees.
    }
  }
  for (const id of ids) if (!states.has(id)) states.set(id, { state: 'unknown', archived: false });
  return { states, resumers, offline };
}
