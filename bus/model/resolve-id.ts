import { UnknownTaskError } from '../errors.js';

/**
 * Finds a task by full id, unique prefix, or unique suffix (the random part of a generated id is easier to
 * type than the timestamp). Pure.
 */
export function resolveTaskId(ids: Iterable<string>, ref: string): string {
  const all = [...ids];
  if (all.includes(ref)) return ref;
  if (ref.length < 4) throw new UnknownTaskError(ref);
  const matches = all.filter((id) => id.startsWith(ref) || id.endsWith(ref));
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  throw new UnknownTaskError(ref, matches);
}
