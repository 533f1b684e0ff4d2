import type { FileProblem } from '../../schemas/errors.js';
import type { Claim } from '../../schemas/claim.js';
import type { TaskResponse } from '../../schemas/response.js';
import { shellWord } from '../project/shell-word.js';
import { cachedRef } from './snapshot-memos.js';
import type { Snapshot } from './snapshot.js';
import type { TaskFiles } from './types.js';

/**
 * A result written in the name of a node other than the one whose claim it answers (untrusted-input finding F12):
 * only the holder runs a task, so its `succeeded` or `timed-out` comes from it; a `failed` or `cancelled` may come
 * from any node that found the holder silent (bus/ops/reap.ts). Said, as a warning: without a trust root anyone
 * with push access can write any file; with one, such files are refused as forged (§12).
 */
export async function responseByOther(snap: Snapshot, files: TaskFiles): Promise<FileProblem | null> {
  const ref = files.response;
  if (!ref) return null;
  const r = cachedRef(ref) ?? (await snap.parse(ref));
  if (!r.ok) return null;
  const resp = r.data as TaskResponse;
  if ((resp.status !== 'succeeded' && resp.status !== 'timed-out') || resp.attempt === undefined) return null;
  const claimRef = files.claims.get(resp.attempt);
  if (!claimRef) return null;
  const c = cachedRef(claimRef) ?? (await snap.parse(claimRef));
  if (!c.ok) return null;
  const holder = (c.data as Claim).node;
  if (holder === resp.node) return null;
  return {
    path: ref.path,
    field: 'node',
    reason: `the result says node ${resp.node} wrote it, but attempt ${resp.attempt} was claimed by ${holder}, the only node that runs it`,
    fix: whoWroteFix(ref.path),
    severity: 'warning',
  };
}

/**
 * The fix of a result written in another node's name: the `git log` to find its writer. The path is a layout-checked
 * bus path today, but a command people copy gets every value quoted all the same (shellWord). Pure.
 */
export function whoWroteFix(path: string): string {
  return `find out who wrote ${path} (git log -- ${shellWord(path)}); anyone who can push can write any file: "gitbus trust init" makes nodes refuse files written in another node's name`;
}
