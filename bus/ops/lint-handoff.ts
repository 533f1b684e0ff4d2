import type { FileProblem } from '../../schemas/errors.js';
import type { Handoff } from '../../schemas/handoff.js';
import { neverDue } from '../model/schedule.js';

/** One handoff that parses, as the checks below read it. */
export interface LintedHandoff {
  id: string;
  /** Repo-relative path of its file (`handoffs/<id>.md`). */
  path: string;
  handoff: Handoff;
  body: string;
}

/**
 * What a handoff that parses would still get wrong on the bus (docs/PROTOCOL.md §5a): a schedule never due. Checked alike by `gitbus lint` (the bus) and `gitbus lint PATH`, on
 * handoffs of tasks that have not ended. `isTemplate`: whether an id names a schedule's template on the bus (a
 * single file linted alone knows of none).
 */
export function handoffProblems(h: LintedHandoff, isTemplate: (id: string) => boolean, now = new Date()): FileProblem[] {
  const problems: FileProblem[] = [];
  const { schedule } = h.handoff;
  if (schedule !== undefined) {
    if (neverDue(schedule, now)) {
      problems.push({ path: h.path, field: 'schedule', reason: `the schedule "${schedule}" is never due (no such day in the next 8 years), so it dispatches nothing`, fix: `cancel it ("gitbus cancel ${h.id}") and dispatch it again with a day the month has`, severity: 'warning' });
    }
  }
  return problems;
}
