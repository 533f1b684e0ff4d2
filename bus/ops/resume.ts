import { parseArchivedFile } from '../../schemas/bus-file.js';
import type { Claim } from '../../schemas/claim.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { TaskResponse } from '../../schemas/response.js';
import type { BusContext } from '../context.js';
import { InputError, UnknownTaskError } from '../errors.js';
import { resolveTaskId } from '../model/resolve-id.js';
import { applyResume, resumePlan, resumeTitle, type RanTask, type ResumePlan } from '../model/resume-plan.js';
import { findArchived } from './archive-lookup.js';
import { dispatch, type DispatchResult } from './dispatch.js';
import { snapshotOrLast } from './query.js';

/** A task's handoff, response and claims as the bus holds them: live on main, else in the archive (by full id). */
export async function readRanTask(ctx: BusContext, ref: string): Promise<RanTask> {
  const { snap } = await snapshotOrLast(ctx);
  let id: string | null = null;
  try {
    id = resolveTaskId(snap.ids(), ref);
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
  const entry = (await findArchived(ctx, [ref])).get(ref);
  if (!entry) throw new UnknownTaskError(ref);
  const t: RanTask = { id: ref, state: entry.state, handoff: null, response: null, claims: [] };
  for (const [name, oid] of entry.files) {
    const parsed = parseArchivedFile(`${entry.month}/${ref}/${name}`, await ctx.repo.store.readBlob(oid));
    if (!parsed.ok) continue;
    if (name === 'handoff.md') t.handoff = parsed.file.data as Handoff;
    else if (name === 'response.md') t.response = parsed.file.data as TaskResponse;
    else if (name.startsWith('claim.')) t.claims.push(parsed.file.data as Claim);
  }
  return t;
}

/** Where and how task `ref`'s claude session continues (bus/model/resume-plan.ts), or why it cannot. */
export async function planResume(ctx: BusContext, ref: string): Promise<ResumePlan> {
  return resumePlan(await readRanTask(ctx, ref));
}

/**
 * `dispatch --resume ID`: makes the dispatch's handoff (in place) continue ID's session: its node, session, project,
 * branch and workdir replace whatever the flags or the current checkout gave; its other fields (priority, timeout,
 * labels, after) stay as given.
 */
export async function resumeInto(ctx: BusContext, ref: string, handoff: Omit<Handoff, 'id' | 'from' | 'created'>): Promise<void> {
  const merged = applyResume(handoff, await planResume(ctx, ref));
  if ('conflict' in merged) throw new InputError(`cannot resume ${ref} with ${merged.conflict}`, merged.fix, { flag: '--resume' });
  for (const k of Object.keys(handoff) as (keyof typeof handoff)[]) delete handoff[k];
  Object.assign(handoff, merged);
}

export interface ResumeResult extends DispatchResult {
  resumes: string;
  node: string;
  session: string;
}

/** `gitbus resume ID "prompt"`: a claude task for the node that ran ID, continuing its session in the same folder. */
export async function resume(ctx: BusContext, ref: string, prompt: string): Promise<ResumeResult & { attempts: number; commit: string | null }> {
  if (prompt.trim() === '') throw new InputError('the prompt is empty', 'say what the session should do next, e.g. gitbus resume ID "continue"', { flag: 'PROMPT' });
  const plan = await planResume(ctx, ref);
  const r = await dispatch(ctx, { handoff: { title: resumeTitle(plan.fields.resumes, prompt), ...plan.fields }, body: prompt.endsWith('\n') ? prompt : `${prompt}\n` });
  return { ...r, resumes: plan.fields.resumes, node: plan.node, session: plan.session };
}
