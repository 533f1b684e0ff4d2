import { TaskStateError } from '../errors.js';
import type { Snapshot } from '../model/snapshot.js';
import { resolveTaskIdBeyond } from '../model/resolve-id.js';
import type { TaskView } from '../model/task-view.js';
import { holderText, unreadableHolder, unreadableHolderFix } from '../model/planner.js';

/**
 * The task's view, checked to be claimed by `node` (for release and respond, which only the holder may do).
 * `isArchived`: the archive lookup, so that an archived task's full id is not taken for a live task it starts or ends.
 */
export async function heldTask(snap: Snapshot, ref: string, node: string, wanted: string, isArchived: (id: string) => Promise<boolean>): Promise<TaskView & { claim: NonNullable<TaskView['claim']> }> {
  const id = await resolveTaskIdBeyond(snap, ref, isArchived);
  const [view] = await snap.viewsOf([id]);
  if (!view) throw new Error(`unreachable: ${id} resolved but has no view`);
  if (view.state !== 'claimed' && view.state !== 'cancelling') {
    const fix = view.state === 'pending' || view.state === 'blocked' ? `claim it first: gitbus claim ${id}` : 'nothing to do: the task is no longer running';
    throw new TaskStateError(id, view.state, wanted, fix);
  }
  if (!view.claim || view.claim.node !== node) {
    const fix = unreadableHolder(view) ? unreadableHolderFix(view) : `only the holder may ${wanted}; run it on that node`;
    throw new TaskStateError(id, holderText(view), wanted, fix, { holder: view.claim?.node ?? null });
  }
  return view as TaskView & { claim: NonNullable<TaskView['claim']> };
}
