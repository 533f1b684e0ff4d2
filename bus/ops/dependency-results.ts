import type { ProjectReport } from '../../schemas/project.js';
import type { BusContext } from '../context.js';
import { archivedRuns } from './archived-trust.js';
import { localSnapshot } from './query.js';
import { branchWarningsOfBody } from './branch-remote.js';

/**
 * What the tasks an integration waits for (`after`) left on their branches, as their responses report it: the
 * branch each was asked for, and where its results really are (a moved branch sends them beside it, §3a step 5).
 * Live tasks are read from the clone as the claim left it; those the archive took, from the archive, as this node
 * counts them (archivedRuns: a response forged in a node's name reports nothing).
 */
export interface DependencyResult {
  id: string;
  /** The handoff's `branch`: the name the integration's `merge` lists. */
  asked: string | null;
  /** The response's `project`; null when it has none (or none that counts). */
  report: ProjectReport | null;
  /** What the response's Branch section warns of about the branch (branchWarningsOfBody). */
  warnings: string[];
}

export async function dependencyResults(ctx: BusContext, ids: readonly string[]): Promise<DependencyResult[]> {
  const snap = await localSnapshot(ctx);
  const out: DependencyResult[] = [];
  const gone: string[] = [];
  for (const id of ids) {
    const v = await snap.baseView(id, false);
    if (v) out.push({ id, asked: v.handoff?.branch ?? null, report: v.response?.project ?? null, warnings: v.response?.project ? branchWarningsOfBody(v.responseBody) : [] });
    else gone.push(id);
  }
  if (gone.length === 0) return out;
  for (const t of (await archivedRuns(ctx, gone)).values()) out.push({ id: t.id, asked: t.handoff?.branch ?? null, report: t.response?.project ?? null, warnings: t.response?.project ? branchWarningsOfBody(t.responseBody) : [] });
  return out;
}
