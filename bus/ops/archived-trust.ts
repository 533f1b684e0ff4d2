import type { FileProblem } from '../../schemas/errors.js';
import type { BusContext } from '../context.js';
import type { ForgedFile } from '../model/types.js';
import type { EnforcedTrust } from '../trust/handoff-trust.js';
import { filterTaskFiles } from '../trust/node-files.js';
import { acceptedTrust, archivedFileVerdict, type ArchivedTask } from './archive-lookup.js';
import { archivedTaskFiles } from './archived-view.js';

/**
 * An archived task as this node counts it. Anyone with push access can write the archive branch, so on a node that
 * enforces trust its claims, release and response are judged as a live task's are on main (filterTaskFiles, the same
 * code): one not written by the node it names is taken out of `files` and listed in `forged`, by its archive path as
 * `show` names it. Without a response that counts (and no cancel) how the task ended is unknown: `invalid`, saying
 * why, as for a response that does not parse — never the forged response's status. For what shows an archived task
 * as a result: `show`, `collect`, `group`. (Dependencies leave such an end out altogether: archivedStates.)
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
      return v.counts ? null : { path: `archive:${ref.path}`, kind, node: v.node, reason: v.reason, fix: v.fix };
    },
    forged,
  );
  if (judged === files) return { entry, forged };
  const out = new Set(forged.map((f) => f.path.slice(`archive:${entry.month}/${id}/`.length)));
  const kept = new Map([...entry.files].filter(([name]) => !out.has(name)));
  const response = forged.find((f) => f.kind === 'response');
  // A cancel ends a task whoever wrote it (it stops work, docs/PROTOCOL.md §12), as archivedEndCounts takes it.
  const end: Pick<ArchivedTask, 'state' | 'problems'> = !response ? entry : kept.has('cancel.md') ? { state: 'cancelled', problems: [] } : { state: 'invalid', problems: [endNotCounted(response)] };
  return { entry: { ...entry, files: kept, state: end.state, problems: end.problems }, forged };
}

function endNotCounted(f: ForgedFile): FileProblem {
  return { path: f.path, field: '', reason: `how the task ended is unknown: this node does not count its archived response (${f.reason})`, fix: f.fix, severity: 'error' };
}
