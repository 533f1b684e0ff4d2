import type { ProjectReport } from '../../schemas/project.js';

/**
 * Why a project task's branch is not on the project remote, in the words `show`, `collect` and Claude's hear-back
 * share. An integration that met conflicts left its branch as it was on purpose (docs/PROTOCOL.md §3a step 6):
 * nothing is coming, so no fetch is offered and the next step is named; anything else is still to be pushed. Pure.
 */
export function notPushedWords(id: string, r: Pick<ProjectReport, 'pushError' | 'conflicts'>): { text: string; fetchable: boolean } {
  const n = r.conflicts?.length ?? 0;
  if (n > 0) return { text: `not pushed: ${n} branch${n === 1 ? '' : 'es'} conflict; gitbus resolve ${id}`, fetchable: false };
  return { text: `not pushed yet${r.pushError ? `: ${r.pushError}` : ''}`, fetchable: true };
}
