import type { FileProblem } from '../../schemas/errors.js';
import type { Handoff } from '../../schemas/handoff.js';
import { neverDue, renderInstance } from '../model/schedule.js';

/** One handoff that parses, as the checks below read it. */
export interface LintedHandoff {
  id: string;
  /** Repo-relative path of its file (`handoffs/<id>.md`). */
  path: string;
  handoff: Handoff;
  body: string;
}

/**
 * What a handoff that parses would still get wrong on the bus (docs/PROTOCOL.md §5a): a schedule never due, a
 * template whose instance would not be a valid handoff (so no instance is ever dispatched), an `after` naming a
 * schedule's template (which never ends, §4). Checked alike by
 * `gitbus lint` (the bus) and `gitbus lint PATH`, on handoffs of tasks that have not ended. `isTemplate`: whether an id names a schedule's template on the bus (a
 * single file linted alone knows of none).
 */
export function handoffProblems(h: LintedHandoff, isTemplate: (id: string) => boolean, now = new Date()): FileProblem[] {
  const problems: FileProblem[] = [];
  const { schedule } = h.handoff;
  if (schedule !== undefined) {
    if (neverDue(schedule, now)) {
      problems.push({ path: h.path, field: 'schedule', reason: `the schedule "${schedule}" is never due (no such day in the next 8 years), so it dispatches nothing`, fix: `cancel it ("gitbus cancel ${h.id}") and dispatch it again with a day the month has`, severity: 'warning' });
    } else {
      const reason = instanceProblem(h, now);
      if (reason) problems.push({ path: h.path, field: '', reason: `the schedule dispatches nothing: ${reason}`, fix: `cancel it ("gitbus cancel ${h.id}") and dispatch it again with a shorter body: ${INSTANCE_FIX}`, severity: 'error' });
    }
  }
  for (const dep of h.handoff.after ?? []) {
    if (dep !== h.id && isTemplate(dep)) problems.push(templateDependencyProblem(h, dep));
  }
  return problems;
}

function templateDependencyProblem(h: LintedHandoff, dep: string): FileProblem {
  return {
    path: h.path,
    field: 'after',
    reason: `dependency ${dep} is a schedule template, which never ends: the task can never run (a watcher cancels it)`,
    fix: `depend on one of its instances (${dep}-<YYYYMMDDhhmmss>) or drop it from after, and dispatch the task again`,
    severity: 'error',
  };
}

/** How to make a template whose instance is too big fit: what dispatch, lint and the watcher say. */
export const INSTANCE_FIX = 'an instance is the template plus a line naming its schedule, and must stay within 256 KiB; put large material in the repository the task works on';

/**
 * Why the template's instances would not be valid handoffs, or undefined when they would be. One instance stands
 * for all: an instance's bytes differ between due times only in fixed-width stamps (its id, `created`, the note).
 */
export function instanceProblem(h: Pick<LintedHandoff, 'id' | 'handoff' | 'body'>, now = new Date()): string | undefined {
  const rendered = renderInstance({ id: h.id, handoff: h.handoff, body: h.body }, new Date(Math.floor(now.getTime() / 60_000) * 60_000));
  return rendered.ok ? undefined : rendered.reason;
}
