import { UnknownTaskError } from '../errors.js';
import { InvalidIdError, TASK_ID_RULE } from '../../schemas/ids.js';

/**
 * Finds a task by full id, unique prefix, or unique suffix (the random part of a generated id is easier to
 * type than the timestamp). Pure. `archived`: full ids known to be archived tasks', which a ref names before any
 * prefix or suffix match (an archived `job1` is not the live `job1-b`); such a ref is refused as no live task
 * (UnknownTaskError without candidates), which every caller answers from the archive, as for any full id not live.
 */
export function resolveTaskId(live: LiveIds, ref: string, archived?: ReadonlySet<string>): string {
  checkRef(ref);
  if (isLookup(live) && live.has(ref)) return ref;
  const all = idsOf(live);
  if (all.includes(ref)) return ref;
  if (ref.length < 4 || archived?.has(ref)) throw new UnknownTaskError(ref);
  const matches = all.filter((id) => id.startsWith(ref) || id.endsWith(ref));
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  throw new UnknownTaskError(ref, matches);
}

/**
 * Whether `ref` is no live id but would match live ones by prefix or suffix: only then can it be an archived task's
 * full id that resolveTaskId would take for another task, so only then is the archive worth asking. Pure.
 */
export function looseRef(ids: Iterable<string>, ref: string): boolean {
  if (ref.length < 4) return false;
  let loose = false;
  for (const id of ids) {
    if (id === ref) return false;
    if (id.startsWith(ref) || id.endsWith(ref)) loose = true;
  }
  return loose;
}

/**
 * resolveTaskId, asking `isArchived` (one archive lookup) only when the ref would be taken by prefix or suffix: the
 * common case, a live full id or a ref matching nothing live, costs nothing more.
 */
export async function resolveTaskIdBeyond(live: LiveIds, ref: string, isArchived: (id: string) => Promise<boolean>): Promise<string> {
  checkRef(ref);
  if (isLookup(live) && live.has(ref)) return ref;
  const all = idsOf(live);
  const archived = looseRef(all, ref) && (await isArchived(ref)) ? new Set([ref]) : undefined;
  return resolveTaskId(all, ref, archived);
}

/**
 * The live ids a ref is resolved among: a list, or what can look one up before listing them all (a Snapshot, whose
 * lean index finds a full id without indexing every task: bus/model/lean-index.ts). A live full id is itself either
 * way; only a short or archived ref needs every live id.
 */
export type LiveIds = Iterable<string> | { has(id: string): boolean; ids(): Iterable<string> };

function isLookup(live: LiveIds): live is { has(id: string): boolean; ids(): Iterable<string> } {
  const l = live as { has?: unknown; ids?: unknown };
  return typeof l.has === 'function' && typeof l.ids === 'function';
}

const idsOf = (live: LiveIds): string[] => [...(isLookup(live) ? live.ids() : live)];

/** Characters a task id is made of: a ref (a whole id, or a prefix or suffix of one) has no others. */
const REF_RE = /^[a-z0-9_-]{1,64}$/;

/**
 * A ref that no task id can match is a mistake in the command (an unset variable's "$ID", an id typed in capitals),
 * not a task this bus lacks: INVALID_ID (exit 2), not UNKNOWN_TASK (exit 4).
 */
export function checkRef(ref: string): void {
  if (REF_RE.test(ref)) return;
  if (ref.trim() === '') throw new InvalidIdError('the task id is empty', 'give a task id, or a unique prefix or suffix of it ("gitbus status" lists them); in a script, check that the variable holding it is set', { field: 'id' });
  const shown = ref.length > 80 ? `${ref.slice(0, 80)}…` : ref;
  throw new InvalidIdError(`"${shown}" is not a task id, nor a part of one: expected ${TASK_ID_RULE}`, 'give the id as "gitbus status" lists it (lower case), or a unique prefix or suffix of it', { field: 'id', value: shown });
}
