import type { Cancel } from '../../schemas/cancel.js';
import { transact, type Decision, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';
import { UnknownGroupError } from '../group-errors.js';
import type { Snapshot } from '../model/snapshot.js';
import { isFinal, type TaskState } from '../model/types.js';
import type { FileChange } from '../store/objects.js';
import type { BusFileSigner } from '../trust/dispatch-signing.js';
import { decideCancel } from './cancel.js';
import { groupTaskIds } from './group-members.js';

export interface GroupCancelResult {
  group: string;
  /** Every task of the group on the bus and what the cancel did to it: `changed` false for one that had ended or was cancelled already. */
  tasks: { id: string; state: TaskState; changed: boolean }[];
}

/**
 * What `gitbus cancel --group NAME` does to the bus as `snap` has it: a cancel for every task of the fan-out that has
 * not ended (workstreams, the integration, follow-ups dispatched into the group), all in one commit, decided from
 * one snapshot as a single cancel is. Tasks that ended are left as they are.
 */
export async function decideGroupCancel(snap: Snapshot, group: string, data: Omit<Cancel, 'id'>, sign?: BusFileSigner): Promise<Decision<GroupCancelResult>> {
  const ids = await groupTaskIds(snap, group);
  if (ids.length === 0) throw new UnknownGroupError(group);
  const tasks: GroupCancelResult['tasks'] = [];
  const changes: FileChange[] = [];
  for (const id of ids) {
    const view = await snap.view(id);
    if (!view) continue;
    if (isFinal(view.state)) {
      tasks.push({ id, state: view.state, changed: false });
      continue;
    }
    const one = await decideCancel(snap, id, data, sign);
    tasks.push(one.result);
    if (one.commit) changes.push(...one.commit.changes);
  }
  const changed = tasks.filter((t) => t.changed).length;
  if (changed === 0) return { result: { group, tasks } };
  return { result: { group, tasks }, commit: { changes, message: `gitbus: cancel group ${group} (${changed} task${changed === 1 ? '' : 's'}) by ${data.by}` } };
}

/** Cancels every task of fan-out group `group` that has not ended, in one commit. Needs the remote (no queue). */
export async function cancelGroup(ctx: BusContext, group: string, reason?: string, now = () => new Date(), sign?: BusFileSigner): Promise<GroupCancelResult & TransactStats> {
  const data = (): Omit<Cancel, 'id'> => ({ by: `${ctx.actor}@${ctx.config.node}`, cancelled: now().toISOString(), ...(reason ? { reason } : {}) });
  return transact<GroupCancelResult>(ctx, 'cancel', async (snap) => decideGroupCancel(snap, group, data(), sign));
}
