import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isTaskId } from '../../schemas/ids.js';
import type { Snapshot } from '../model/snapshot.js';
import type { HandoffTrust } from './handoff-trust.js';

/**
 * What this node saw end (docs/PROTOCOL.md §12, "Replay"): the ids of tasks it saw with a response that counts, kept
 * in `<home>/trust/seen-ended.log`, one id per line, appended. Someone with push access can delete a task's
 * claims and response (and their signatures) so that the task reads as pending again; a node that saw it end
 * refuses to run it again. Only nodes that enforce trust keep it: elsewhere deleting a response is a person's way
 * to run a task again.
 */

export function seenEndedPath(home: string): string {
  return join(home, 'trust', 'seen-ended.log');
}

const memory = new Map<string, Set<string>>();

function loaded(home: string): Set<string> {
  let set = memory.get(home);
  if (set) return set;
  set = new Set();
  const path = seenEndedPath(home);
  if (existsSync(path)) for (const line of readFileSync(path, 'utf8').split('\n')) if (isTaskId(line)) set.add(line);
  memory.set(home, set);
  return set;
}

/** Records the tasks of `snap` that have a response (read through this node's trust: forged ones are gone). */
export function noteEnded(home: string, snap: Snapshot): void {
  const set = loaded(home);
  const fresh: string[] = [];
  for (const [id, f] of snap.index.tasks) if (f.response && f.handoff && !set.has(id)) fresh.push(id);
  if (fresh.length === 0) return;
  const path = seenEndedPath(home);
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, `${fresh.join('\n')}\n`);
  for (const id of fresh) set.add(id);
}

/** Whether this node saw `id` end. */
export function sawEnd(home: string, id: string): boolean {
  return loaded(home).has(id);
}

/** The verdict on a task this node saw end that reads as not ended again: its end was removed from the bus. */
export function endRemoved(id: string): HandoffTrust {
  return { trusted: false, reason: `replayed: this node saw task ${id} end, and its response was removed from the bus since; a signed handoff runs once`, fix: 'dispatch it again as a new task' };
}

/** Marks, in `verdicts`, the trusted tasks this node saw end that read as not ended again. */
export function markEndsRemoved(home: string, snap: Snapshot, verdicts: Map<string, HandoffTrust>): void {
  for (const [id, v] of verdicts) if (v.trusted && !snap.index.tasks.get(id)?.response && sawEnd(home, id)) verdicts.set(id, endRemoved(id));
}
