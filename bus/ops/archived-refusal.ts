import type { BusContext } from '../context.js';
import { TaskStateError, UnknownTaskError } from '../errors.js';
import { archivedStates } from './archived-trust.js';

/**
 * A ref no live task matches may be an archived task's full id, which `gitbus show` finds: archived tasks have
 * ended, so `wanted` (claim it, release, respond, attach to it) is refused with the task's state, as for a live
 * task that ended, rather than as a task that does not exist. Any other error, a ref matching several tasks, an id
 * the archive has not, or an archive that cannot be read now leaves `err` as it was.
 */
export async function refuseIfArchived(ctx: BusContext, ref: string, err: unknown, wanted: string): Promise<never> {
  if (!(err instanceof UnknownTaskError) || ((err.data['candidates'] as string[] | undefined) ?? []).length > 0) throw err;
  let state: string | undefined;
  try {
    state = (await archivedStates(ctx, [ref])).get(ref);
  } catch {
    throw err;
  }
  if (state === undefined) throw err;
  throw new TaskStateError(ref, `${state} (archived)`, wanted, 'nothing to do: it has ended and was archived; gitbus show ID shows its result', { archived: true });
}
