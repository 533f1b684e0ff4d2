import type { ProjectReport } from '../../schemas/project.js';
import { timestampMs } from '../../schemas/timestamp.js';
import type { TaskState } from './types.js';

/**
 * The branches of an integration's `merge` that a follow-up's result lacks, as its response's `project.merged` says
 * what the branch holds (the worker checks it when a `gitbus resolve` run ends; the merge runner lists what it
 * merged, a branch that had moved under its `-moved-` name; `gitbus respond` checks the project remote when a
 * person or agent ends a manual resolve). Null when the response lists nothing: a response of a gitbus before that
 * check, which is taken at its word. Pure.
 */
export function unmergedBranches(merge: readonly string[], project: Pick<ProjectReport, 'merged'> | null | undefined): string[] | null {
  const merged = project?.merged;
  if (merged === undefined) return null;
  return merge.filter((b) => !merged.some((m) => m === b || m.startsWith(`${b}-moved-`)));
}

/**
 * Whether a follow-up of an integration (a resolve, by an agent or by hand, or the merge dispatched again) resolved
 * it: it succeeded, and its response reports the integration's branch pushed with every branch of `merge` in it.
 * A response without `project` shows nothing pushed (a manual resolve answered where gitbus could not check the
 * project remote), so it resolved nothing, however it ended. `gitbus group` and `gitbus resolve` both judge by
 * this alone, so that what one calls resolved the other does too. Pure.
 */
export function resolvesIntegration(merge: readonly string[], state: TaskState | 'unknown', project: ProjectReport | null | undefined): boolean {
  return state === 'succeeded' && project?.pushed === true && (unmergedBranches(merge, project)?.length ?? 0) === 0;
}

/**
 * Which of the follow-ups that resolved an integration (resolvesIntegration) `gitbus group` and `gitbus resolve` both
 * name: one whose result is on the integration's branch itself before one beside it (a push that landed later may
 * have gone beside it, after a newer follow-up took the branch), and among those the one dispatched last
 * (newestDispatched). One rule for both, so that they name the same task. Pure.
 */
export function settlingFollowUp<T extends Dispatched & { branch: string | null }>(integrationBranch: string | null, resolving: readonly T[]): T | undefined {
  const own = resolving.filter((t) => t.branch === integrationBranch);
  return newestDispatched(own.length > 0 ? own : resolving);
}

/** A task as the order of dispatch reads it: its id, and its handoff's `created` (null: the handoff does not say). */
export interface Dispatched {
  id: string;
  created: string | null;
}

/** Ids gitbus makes (`20261204-183215-c2ndk6`) start with the second they were made in (UTC). */
const TIMED_ID_RE = /^\d{8}-\d{6}-/;
const SECOND_CHARS = 'yyyymmdd-hhmmss'.length;

/** Whether the id is one gitbus made, which says when it was dispatched. Pure. */
export function isTimedId(id: string): boolean {
  return TIMED_ID_RE.test(id);
}

/**
 * Whether `a` was dispatched before `b`, as far as their ids and handoffs say; null when they say nothing. Ids gitbus
 * made name the second; within one second their random tails are no order (two follow-ups one quick run apart, as a
 * resolve that failed at once and the resolve after it), and the handoffs' `created`, read from the same clock as
 * the id but to the millisecond, decides. Ids given by hand say nothing. Pure.
 */
export function dispatchedEarlier(a: Dispatched, b: Dispatched): boolean | null {
  if (!isTimedId(a.id) || !isTimedId(b.id)) return null;
  const sa = a.id.slice(0, SECOND_CHARS);
  const sb = b.id.slice(0, SECOND_CHARS);
  if (sa !== sb) return sa < sb;
  const ca = a.created === null ? undefined : timestampMs(a.created);
  const cb = b.created === null ? undefined : timestampMs(b.created);
  return ca === undefined || cb === undefined || ca === cb ? null : ca < cb;
}

/**
 * The task dispatched last (dispatchedEarlier); where their ids and handoffs say nothing, the one with the greatest
 * id, so that group and resolve name the same one. Pure.
 */
export function newestDispatched<T extends Dispatched>(tasks: readonly T[]): T | undefined {
  let newest: T | undefined;
  for (const t of tasks) if (newest === undefined || (dispatchedEarlier(newest, t) ?? t.id > newest.id)) newest = t;
  return newest;
}

/**
 * Whether task `a` was dispatched before task `b`, as far as their ids and handoffs say (dispatchedEarlier): a
 * follow-up made after the one that settled the integration (a resume of it, a `resolve --force`) did not end before
 * it and is not moot. Ids given by hand say nothing: taken as before, as a failure the settle came after is the
 * common case. Pure.
 */
export function dispatchedBefore(a: Dispatched, b: Dispatched): boolean {
  if (!isTimedId(a.id) || !isTimedId(b.id)) return true;
  return dispatchedEarlier(a, b) ?? a.id < b.id;
}
