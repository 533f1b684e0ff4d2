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
 * release (by attempt number), the cancel, the response. Pure.
 */
export function filesInShowOrder(files: TaskFiles): FileRef[] {
  const refs = [files.handoff, ...claimsByAttempt(files).flatMap(([n, c]) => [c, files.releases.get(n)]), files.cancel, files.response];
  return refs.filter((r): r is FileRef => r !== undefined);
}
