import type { Claim } from '../../schemas/claim.js';
import type { FileProblem } from '../../schemas/errors.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { TaskResponse } from '../../schemas/response.js';
import type { BusContext } from '../context.js';
import type { RanTask } from '../model/resume-plan.js';
import type { ForgedFile, TaskState } from '../model/types.js';
import type { EnforcedTrust } from '../trust/handoff-trust.js';
import { filterTaskFiles } from '../trust/task-file-filter.js';
import { acceptedTrust, archivedFileVerdict, findArchived, readArchivedData, readArchivedFile, type ArchivedTask, type FindArchivedOptions } from './archive-lookup.js';
import { archivedName, archivedTaskFiles } from './archived-view.js';
import { claimsByAttempt } from '../model/task-file-order.js';
import { mergeDeliveries, type DeliveryFile } from '../model/delivery-merge.js';
import type { Delivery } from '../../schemas/delivery.js';

/**
 * An archived task as this node counts it. Anyone with push access can write the archive branch, so on a node that
 * enforces trust its claims, release and response are judged as a live task's are on main (filterTaskFiles, the same
 * code): one not written by the node it names is taken out of `files` and listed in `forged`, by its archive path as
 * `show` names it. Without a response that counts (and no cancel) how the task ended is unknown: `invalid`, saying
 * why, as for a response that does not parse — never the forged response's status. Every reader of an archived
 * task's claims, releases or response goes through it (findCounted): `show`, `collect`, `group`, `logs` and what
 * waits on a task, `resume` and `resolve`, dependencies (archivedStates), the merge runner's results, `worktrees`.
 * findArchived alone is for whether an id was archived at all (a replay, a dispatch's chosen id).
 */
export interface CountedArchive {
  entry: ArchivedTask;
  forged: ForgedFile[];
}

export async function countedArchive(ctx: BusContext, id: string, entry: ArchivedTask, trust: EnforcedTrust | null = acceptedTrust(ctx), now = new Date()): Promise<CountedArchive> {
  if (!trust) return { entry, forged: [] };
  const files = archivedTaskFiles(id, entry);
  const forged: ForgedFile[] = [];
  const judged = await filterTaskFiles(
    files,
    async (ref, kind) => {
      const v = await archivedFileVerdict(ctx.repo.store, entry, ref, trust, now);
      const path = `archive:${ref.path}`;
      return v.counts ? { forged: null, path, where: `${ref.path} on the archive branch`, signed: v.signed, node: v.node, data: v.data } : { forged: { path, kind, node: v.node, reason: v.reason, fix: v.fix } };
    },
    forged,
    // One by one: it ended under the rules of the gitbus that archived it (task-file-filter.ts).
    false,
  );
  if (judged === files) return { entry, forged };
  const out = new Set(forged.map((f) => f.path.slice(`archive:${entry.month}/${id}/`.length)));
  const kept = new Map([...entry.files].filter(([name]) => !out.has(name)));
  const response = forged.find((f) => f.kind === 'response');
  // A cancel ends a task whoever wrote it (it stops work, docs/PROTOCOL.md §12).
  const end: Pick<ArchivedTask, 'state' | 'problems'> = !response ? entry : kept.has('cancel.md') ? { state: 'cancelled', problems: [] } : { state: 'invalid', problems: [endNotCounted(response)] };
  return { entry: { ...entry, files: kept, state: end.state, problems: end.problems }, forged };
}

function endNotCounted(f: ForgedFile): FileProblem {
  return { path: f.path, field: '', reason: `how the task ended is unknown: this node does not count its archived response (${f.reason})`, fix: f.fix, severity: 'error' };
}

/** Archived tasks by id (findArchived), each as this node counts it. */
export async function findCounted(ctx: BusContext, ids: string[], opts: FindArchivedOptions = {}): Promise<Map<string, CountedArchive>> {
  const out = new Map<string, CountedArchive>();
  if (ids.length === 0) return out;
  const trust = acceptedTrust(ctx);
  const now = new Date();
  for (const [id, entry] of await findArchived(ctx, ids, opts)) out.set(id, await countedArchive(ctx, id, entry, trust, now));
  return out;
}

/**
 * Final states of archived tasks, for dependencies (`after`) on tasks that have left main. Fetches the archive
 * branch only when asked about an id that is not live, so normal work never reads the archive. A task whose end does
 * not count here (its response forged, and no cancel) is left out: its state is unknown, so a task after it stays
 * blocked rather than running on, or being cancelled for, an end nobody wrote.
 */
export async function archivedStates(ctx: BusContext, ids: string[]): Promise<Map<string, TaskState>> {
  const out = new Map<string, TaskState>();
  for (const [id, { entry, forged }] of await findCounted(ctx, ids)) {
    if (entry.state === 'invalid' && forged.some((f) => f.kind === 'response')) continue;
    out.set(id, entry.state);
  }
  return out;
}

/** An archived task's handoff, claims and response as this node counts them (a forged one is not there), with its month. */
export interface ArchivedRun extends RanTask {
  /** The response's body, when it parsed (its Branch section names a project's URL: bus/ops/branch-remote.ts). */
  responseBody?: string;
  /** The URL the delivery folded into `response` names, for a project name (bus/ops/branch-remote.ts). */
  deliveredUrl?: string;
  month: string;
  forged: ForgedFile[];
}

/** The archived tasks among `ids`, read as `resume`, `resolve`, the merge runner and dependencies read a task. */
export async function archivedRuns(ctx: BusContext, ids: string[], opts: FindArchivedOptions = {}): Promise<Map<string, ArchivedRun>> {
  const out = new Map<string, ArchivedRun>();
  for (const [id, { entry, forged }] of await findCounted(ctx, ids, opts)) {
    const read = <T>(name: string): Promise<T | undefined> => readArchivedData<T>(ctx.repo.store, id, entry, name);
    const claims: Claim[] = [];
    for (const [, ref] of claimsByAttempt(archivedTaskFiles(id, entry))) {
      const c = await read<Claim>(archivedName(ref));
      if (c) claims.push(c);
    }
    const handoff = (await read<Handoff>('handoff.md')) ?? null;
    const responseFile = await readArchivedFile<TaskResponse>(ctx.repo.store, id, entry, 'response.md');
    // The result as every reader reads it: a delivery archived beside the response folded in (bus/model/delivery-merge.ts).
    const deliveries: DeliveryFile[] = [];
    for (const ref of archivedTaskFiles(id, entry).deliveries?.values() ?? []) {
      const d = await read<Delivery>(archivedName(ref));
      if (d) deliveries.push({ path: ref.path, parsed: { ok: true, data: d, body: '', warnings: [] } });
    }
    const merged = responseFile ? mergeDeliveries(responseFile.data, deliveries) : null;
    const response = merged?.response ?? null;
    const deliveredUrl = merged?.delivery?.url;
    out.set(id, { id, state: entry.state, handoff, response, ...(responseFile ? { responseBody: responseFile.body } : {}), ...(deliveredUrl !== undefined ? { deliveredUrl } : {}), claims, month: entry.month, problems: entry.problems, forged });
  }
  return out;
}
