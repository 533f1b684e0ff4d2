import type { Handoff } from '../../schemas/handoff.js';
import type { ProjectReport } from '../../schemas/project.js';
import type { TaskResponse } from '../../schemas/response.js';
import type { BusContext } from '../context.js';
import { acceptedTrust, archivedEndCounts, findArchived, readArchivedData } from './archive-lookup.js';
import { localSnapshot } from './query.js';

/**
 * What the tasks an integration waits for (`after`) left on their branches, as their responses report it: the
 * branch each was asked for, and where its results really are (a moved branch sends them beside it, §3a step 5).
 * Live tasks are read from the clone as the claim left it; those the archive took, from the archive, where on a
 * node that enforces trust a response counts only as archivedStates would count it.
 */
export interface DependencyResult {
  id: string;
  /** The handoff's `branch`: the name the integration's `merge` lists. */
  asked: string | null;
  /** The response's `project`; null when it has none (or none that counts). */
  report: ProjectReport | null;
}

export async function dependencyResults(ctx: BusContext, ids: readonly string[]): Promise<DependencyResult[]> {
  const snap = await localSnapshot(ctx);
  const out: DependencyResult[] = [];
  const gone: string[] = [];
  for (const id of ids) {
    const v = await snap.baseView(id, false);
    if (v) out.push({ id, asked: v.handoff?.branch ?? null, report: v.response?.project ?? null });
    else gone.push(id);
  }
  if (gone.length === 0) return out;
  const found = await findArchived(ctx, gone);
  const trust = acceptedTrust(ctx);
  for (const [id, entry] of found) {
    const handoff = await readArchivedData<Handoff>(ctx.repo.store, id, entry, 'handoff.md');
    const counts = !trust || (await archivedEndCounts(ctx, id, entry, trust));
    const response = counts ? await readArchivedData<TaskResponse>(ctx.repo.store, id, entry, 'response.md') : undefined;
    out.push({ id, asked: handoff?.branch ?? null, report: response?.project ?? null });
  }
  return out;
}
