import type { Claim } from '../../schemas/claim.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { TaskResponse } from '../../schemas/response.js';
import type { BusContext } from '../context.js';
import { UnknownTaskError } from '../errors.js';
import { resolveTaskIdBeyond } from '../model/resolve-id.js';
import type { RanTask } from '../model/resume-plan.js';
import { archivedIdCheck, findArchived, readArchivedData } from './archive-lookup.js';
import { snapshotOrLast } from './query.js';

/** A task's handoff, response and claims as the bus holds them: live on main, else in the archive (by full id). */
export async function readRanTask(ctx: BusContext, ref: string): Promise<RanTask> {
  const { snap, offline } = await snapshotOrLast(ctx);
  let id: string | null = null;
  try {
    id = await resolveTaskIdBeyond(snap.ids(), ref, offline ? async () => false : archivedIdCheck(ctx, { thorough: true }));
  } catch (err) {
    if (!(err instanceof UnknownTaskError) || (err.data['candidates'] as string[]).length > 1) throw err;
  }
  if (id !== null) {
    const view = await snap.view(id);
    if (!view) throw new UnknownTaskError(ref);
    const claims: Claim[] = [];
    for (const c of view.files.claims.values()) {
      const p = await snap.parse<Claim>(c);
      if (p.ok) claims.push(p.data);
    }
    return { id, state: view.state, handoff: view.handoff ?? null, response: view.response ?? null, claims };
  }
  const entry = (await findArchived(ctx, [ref], { thorough: true })).get(ref);
  if (!entry) throw new UnknownTaskError(ref);
  const t: RanTask = { id: ref, state: entry.state, handoff: null, response: null, claims: [] };
  for (const name of entry.files.keys()) {
    const data = await readArchivedData<Handoff | TaskResponse | Claim>(ctx.repo.store, ref, entry, name);
    if (data === undefined) continue;
    if (name === 'handoff.md') t.handoff = data as Handoff;
    else if (name === 'response.md') t.response = data as TaskResponse;
    else if (name.startsWith('claim.')) t.claims.push(data as Claim);
  }
  return t;
}
