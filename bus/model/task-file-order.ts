import { classifyPath } from '../../schemas/layout.js';
import type { FileRef, TaskFiles } from './types.js';

/**
 * A task's claims by attempt number, lowest first. The index and an archive folder hold them in tree order, where
 * `claim.10.md` comes before `claim.2.md`. Pure.
 */
export function claimsByAttempt(files: Pick<TaskFiles, 'claims'>): [attempt: number, ref: FileRef][] {
  return [...files.claims.entries()].sort((a, b) => a[0] - b[0]);
}

/**
 * A task's files in the order `show` lists them, live or archived: the handoff, each attempt's claim with its
 * release (by attempt number), the cancel, the response, its deliveries by attempt. Pure.
 */
export function filesInShowOrder(files: TaskFiles): FileRef[] {
  const deliveries = [...(files.deliveries ?? [])].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
  const refs = [files.handoff, ...claimsByAttempt(files).flatMap(([n, c]) => [c, files.releases.get(n)]), files.cancel, files.response, ...deliveries];
  return refs.filter((r): r is FileRef => r !== undefined);
}

const KIND_RANK: Record<string, number> = { handoff: 0, claim: 1, release: 1, cancel: 2, response: 3, delivery: 4 };

/**
 * Orders a task's file paths as `show` lists its files (filesInShowOrder), for a list of paths rather than a task's
 * index entry, such as `verify`'s (which also lists files taken out as forged): the handoff, each attempt's claim
 * then its release by attempt number, the cancel, the response; a path that is none of them last, by name. Pure.
 */
export function byShowOrder(a: string, b: string): number {
  const ka = showKey(a);
  const kb = showKey(b);
  return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2] || (a < b ? -1 : a > b ? 1 : 0);
}

function showKey(path: string): [rank: number, attempt: number, releaseAfterClaim: number] {
  const p = classifyPath(path);
  if (p === undefined || !('kind' in p)) return [5, 0, 0];
  const attempt = 'attempt' in p ? p.attempt : 0;
  return [KIND_RANK[p.kind] ?? 5, attempt, p.kind === 'release' ? 1 : 0];
}
