import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isTaskId } from '../../schemas/ids.js';
import { templateOfFrom } from '../model/schedule.js';
import type { Snapshot } from '../model/snapshot.js';
import type { HandoffTrust } from './handoff-trust.js';

/**
 * What this node saw end (docs/PROTOCOL.md §12, "Replay"), kept in `<home>/trust/seen-ended.log`, appended: the id
 * of each task it saw with a response that counts (a bare id per line), and of each task it saw cancelled
 * (`cancelled <id>`). Someone with push access can delete a task's claims and response, or its cancel (and their
 * signatures), so that the task reads as pending again; a node that saw it end, or saw it cancelled, refuses to run
 * it. Neither leaves main legitimately except by archiving, which takes the whole task. Only nodes that enforce
 * trust keep it: elsewhere deleting a response is a person's way to run a task again.
 */

export function seenEndedPath(home: string): string {
  return join(home, 'trust', 'seen-ended.log');
}

const CANCELLED = 'cancelled ';

interface Seen {
  ended: Set<string>;
  cancelled: Set<string>;
}

const memory = new Map<string, Seen>();

function loaded(home: string): Seen {
  let seen = memory.get(home);
  if (seen) return seen;
  seen = { ended: new Set(), cancelled: new Set() };
  const path = seenEndedPath(home);
  if (existsSync(path)) {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const cancelled = line.startsWith(CANCELLED) ? line.slice(CANCELLED.length) : null;
      if (cancelled !== null) {
        if (isTaskId(cancelled)) seen.cancelled.add(cancelled);
      } else if (isTaskId(line)) seen.ended.add(line);
    }
  }
  memory.set(home, seen);
  return seen;
}

/** Records the tasks of `snap` that have a response or a cancel (read through this node's trust: forged responses are gone). */
export function noteEnded(home: string, snap: Snapshot): void {
  const seen = loaded(home);
  const ended: string[] = [];
  const cancelled: string[] = [];
  for (const [id, f] of snap.index.tasks) {
    if (!f.handoff) continue;
    if (f.response && !seen.ended.has(id)) ended.push(id);
    if (f.cancel && !seen.cancelled.has(id)) cancelled.push(id);
  }
  if (ended.length === 0 && cancelled.length === 0) return;
  const path = seenEndedPath(home);
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, [...ended, ...cancelled.map((id) => `${CANCELLED}${id}`)].map((l) => `${l}\n`).join(''));
  for (const id of ended) seen.ended.add(id);
  for (const id of cancelled) seen.cancelled.add(id);
}

/** Whether this node saw `id` end. */
export function sawEnd(home: string, id: string): boolean {
  return loaded(home).ended.has(id);
}

/** Whether this node saw `id` cancelled. */
export function sawCancel(home: string, id: string): boolean {
  return loaded(home).cancelled.has(id);
}

/** The verdict on a task this node saw end that reads as not ended again: its end was removed from the bus. */
export function endRemoved(id: string): HandoffTrust {
  return { trusted: false, reason: `replayed: this node saw task ${id} end, and its response was removed from the bus since; a signed handoff runs once`, fix: 'dispatch it again as a new task' };
}

/** The verdict on a task this node saw cancelled whose cancel is gone: the cancel was removed from the bus. */
export function cancelRemoved(id: string): HandoffTrust {
  return { trusted: false, reason: `replayed: this node saw task ${id} cancelled, and its cancel was removed from the bus since; a cancelled task does not run`, fix: 'dispatch it again as a new task' };
}

/**
 * Marks, in `verdicts`, the trusted tasks this node saw end that read as not ended again, and those it saw cancelled
 * whose cancel is gone. An instance of a schedule template this node saw cancelled, whose cancel is gone, is refused
 * the same way: deleting a template's cancel does not restart its schedule here.
 */
export async function markEndsRemoved(home: string, snap: Snapshot, verdicts: Map<string, HandoffTrust>): Promise<void> {
  const seen = loaded(home);
  for (const [id, v] of verdicts) {
    if (!v.trusted) continue;
    const f = snap.index.tasks.get(id);
    if (!f?.response && seen.ended.has(id)) verdicts.set(id, endRemoved(id));
    else if (!f?.cancel && seen.cancelled.has(id)) verdicts.set(id, cancelRemoved(id));
    else if (seen.cancelled.size > 0) {
      // Read only when this node ever saw a cancel: an instance names its template in `from`.
      const t = templateOfFrom((await snap.view(id))?.handoff?.from);
      if (t !== null && t !== id && seen.cancelled.has(t) && !snap.index.tasks.get(t)?.cancel) verdicts.set(id, cancelRemoved(t));
    }
  }
}
