import type { Handoff } from '../../schemas/handoff.js';
import type { BusContext } from '../context.js';
import { InputError } from '../errors.js';
import { applyResume, resumePlan, resumeTitle, type ResumePlan } from '../model/resume-plan.js';
import { readRanTask } from './read-task.js';
import type { BusFileSigner } from '../trust/dispatch-signing.js';
import { dispatch, type DispatchResult } from './dispatch.js';

/** Where and how task `ref`'s claude session continues (bus/model/resume-plan.ts), or why it cannot. */
export async function planResume(ctx: BusContext, ref: string): Promise<ResumePlan> {
  return resumePlan(await readRanTask(ctx, ref));
}

/**
 * `dispatch --resume ID`: makes the dispatch's handoff (in place) continue ID's session: its node, session, project,
 * branch and workdir replace whatever the flags or the current checkout gave; its other fields (priority, timeout,
 * labels, after) stay as given.
 */
export async function resumeInto(ctx: BusContext, ref: string, handoff: Omit<Handoff, 'id' | 'from' | 'created'>): Promise<ResumePlan> {
  const plan = await planResume(ctx, ref);
  const merged = applyResume(handoff, plan);
  if ('conflict' in merged) throw new InputError(`cannot resume ${ref} with ${merged.conflict}`, merged.fix, { flag: '--resume' });
  for (const k of Object.keys(handoff) as (keyof typeof handoff)[]) delete handoff[k];
  Object.assign(handoff, merged);
  return plan;
}

export interface ResumeResult extends DispatchResult {
  resumes: string;
  node: string;
  session: string;
}

/** `gitbus resume ID "prompt"`: a claude task for the node that ran ID, continuing its session in the same folder. */
export async function resume(ctx: BusContext, ref: string, prompt: string, sign?: BusFileSigner): Promise<ResumeResult & { attempts: number; commit: string | null; fields: ResumePlan['fields'] }> {
  if (prompt.trim() === '') throw new InputError('the prompt is empty', 'say what the session should do next, e.g. gitbus resume ID "continue"', { flag: 'PROMPT' });
  const plan = await planResume(ctx, ref);
  const r = await dispatch(ctx, { handoff: { title: resumeTitle(plan.fields.resumes, prompt), ...plan.fields }, body: prompt.endsWith('\n') ? prompt : `${prompt}\n`, ...(sign ? { sign } : {}) });
  return { ...r, resumes: plan.fields.resumes, node: plan.node, session: plan.session, fields: plan.fields };
}
