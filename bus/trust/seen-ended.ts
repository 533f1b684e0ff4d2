import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isTaskId } from '../../schemas/ids.js';
import { templateOfFrom } from '../model/schedule.js';
import type { Snapshot } from '../model/snapshot.js';
import type { HandoffTrust } from './handoff-trust.js';

/**
 * What this node saw end (docs/PROTOCOL.md §12, "Replay"), kept in `<home>/trust/seen-ended.log`, appended: the id
 * of each task it saw with a response that counts (a bare id per line), of each task it saw cancelled
 * (`cancelled <id>`), and each claim that counts it saw (`claimed <id> <attempt>`; a line it does not know is
 * skipped, so an older gitbus reads the log still). Someone with push access can delete a task's claims and
 * response, or its cancel, or the claim of a task being run (and their signatures), so that the task reads as
 * pending again; a node that saw it end, cancelled or claimed refuses to run it. None of them leaves main
 * legitimately except by archiving, which takes the whole task (a release or a lease's expiry adds files). Only
 * nodes that enforce trust keep it: elsewhere deleting a response is a person's way to run a task again.
 */

export function seenEndedPath(home: string): string {
  return join(home, 'trust', 'seen-ended.log');
}

const CANCELLED = 'cancelled ';
const CLAIMED = 'claimed ';

export interface SeenLog {
  ended: Set<string>;
  cancelled: Set<string>;
  /** Task id -> the highest attempt this node saw claimed. */
  claimed: Map<string, number>;
}

/** The log's lines as what they record, pure: a line that is not one of its kinds (or is cut short) is skipped. */
export function parseSeenLog(text: string): SeenLog {
  const seen: SeenLog = { ended: new Set(), cancelled: new Set(), claimed: new Map() };
  for (const line of text.split('\n')) {
    if (line.startsWith(CANCELLED)) {
      const id = line.slice(CANCELLED.length);
      if (isTaskId(id)) seen.cancelled.add(id);
    } else if (line.startsWith(CLAIMED)) {
      const [id, attempt, ...rest] = line.slice(CLAIMED.length).split(' ');
      const n = /^[1-9]\d{0,8}$/.test(attempt ?? '') ? Number(attempt) : 0;
      if (id !== undefined && isTaskId(id) && n > 0 && rest.length === 0) seen.claimed.set(id, Math.max(seen.claimed.get(id) ?? 0, n));
    } else if (isTaskId(line)) seen.ended.add(line);
  }
  return seen;
}

/** The line that records a claim of attempt `attempt` of `id`. */
export function claimedLine(id: string, attempt: number): string {
  return `${CLAIMED}${id} ${attempt}`;
}

/** The log as read by this process, and the file's length once this process's own lines were added. */
const memory = new Map<string, { seen: SeenLog; bytes: number }>();

function loaded(home: string): SeenLog {
  const known = memory.get(home);
  if (known) return known.seen;
  return reread(home);
}

function reread(home: string): SeenLog {
  const path = seenEndedPath(home);
  const text = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
  const seen = parseSeenLog(text.toString('utf8'));
  memory.set(home, { seen, bytes: text.length });
  return seen;
}

/**
 * Reads the log again when another process of this node added to it since (a person's `gitbus claim` beside the
 * watcher, which would otherwise not know that claim until it saw it on the bus itself, after a replay removed it).
 */
function refreshed(home: string): SeenLog {
  const known = memory.get(home);
  if (!known) return reread(home);
  let size = 0;
  try {
    size = statSync(seenEndedPath(home)).size;
  } catch {
    // No log (yet, or removed): what this process knows stands.
    return known.seen;
  }
  return size === known.bytes ? known.seen : reread(home);
}

function append(home: string, lines: string[]): void {
  if (lines.length === 0) return;
  const path = seenEndedPath(home);
  mkdirSync(dirname(path), { recursive: true });
  const text = lines.map((l) => `${l}\n`).join('');
  appendFileSync(path, text);
  const known = memory.get(home);
  if (known) known.bytes += Buffer.byteLength(text);
}

/**
 * Records the tasks of `snap` that have a response or a cancel, and the highest claim of each (read through this
 * node's trust: forged responses and claims are gone). A claim that does not parse is not recorded: it names no
 * node, and removing it is how a person frees the task it holds (PROTOCOL.md §4).
 */
export async function noteEnded(home: string, snap: Snapshot): Promise<void> {
  const seen = refreshed(home);
  const ended: string[] = [];
  const cancelled: string[] = [];
  const claimed: [string, number][] = [];
  for (const [id, f] of snap.index.tasks) {
    if (!f.handoff) continue;
    if (f.response && !seen.ended.has(id)) ended.push(id);
    if (f.cancel && !seen.cancelled.has(id)) cancelled.push(id);
    let top = 0;
    for (const a of f.claims.keys()) top = Math.max(top, a);
    const ref = f.claims.get(top);
    if (!ref || top <= (seen.claimed.get(id) ?? 0)) continue;
    // Read only for a claim not recorded yet: once per claim and node.
    const p = await snap.parse<{ node?: unknown }>(ref);
    if (p.ok && typeof p.data.node === 'string') claimed.push([id, top]);
  }
  noteClaimed(home, claimed);
  append(home, [...ended, ...cancelled.map((id) => `${CANCELLED}${id}`)]);
  for (const id of ended) seen.ended.add(id);
  for (const id of cancelled) seen.cancelled.add(id);
}

/**
 * Records claims this node saw, or made itself (bus/trust/node-files.ts notes its own once they are on the remote),
 * after what other processes of this node recorded since this one last looked.
 */
export function noteClaimed(home: string, claims: Iterable<readonly [string, number]>): void {
  const seen = refreshed(home);
  const fresh = [...claims].filter(([id, a]) => a > (seen.claimed.get(id) ?? 0));
  append(home, fresh.map(([id, a]) => claimedLine(id, a)));
  for (const [id, a] of fresh) seen.claimed.set(id, Math.max(seen.claimed.get(id) ?? 0, a));
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
 * The verdict on a task this node saw claimed whose claim of that attempt is gone (removed, or replaced by one that
 * does not count): its holder may be running it still, so it is left alone (`leaveAlone`): not claimed, and not
 * answered either, since a claim and a response of this node would land under the holder's run.
 */
export function claimRemoved(id: string, attempt: number): Extract<HandoffTrust, { trusted: false }> {
  return { trusted: false, leaveAlone: true, reason: `replayed: this node saw task ${id} claimed (attempt ${attempt}), and that claim was removed from the bus since; its holder may be running it still`, fix: `leave it to its holder; if no node runs it any more, cancel it ("gitbus cancel ${id}") and dispatch it again as a new task` };
}

/**
 * Marks, in `verdicts`, the trusted tasks this node saw end that read as not ended again, and those it saw cancelled
 * whose cancel is gone, and those whose highest claim it saw is gone (claimRemoved). An instance of a schedule
 * template this node saw cancelled, whose cancel is gone, is refused the same way: deleting a template's cancel
 * does not restart its schedule here.
 */
export async function markEndsRemoved(home: string, snap: Snapshot, verdicts: Map<string, HandoffTrust>): Promise<void> {
  const seen = loaded(home);
  for (const [id, v] of verdicts) {
    if (!v.trusted) continue;
    const f = snap.index.tasks.get(id);
    if (!f?.response && seen.ended.has(id)) verdicts.set(id, endRemoved(id));
    else if (!f?.cancel && seen.cancelled.has(id)) verdicts.set(id, cancelRemoved(id));
    else if (seen.claimed.has(id) && !f?.claims.has(seen.claimed.get(id) ?? 0)) verdicts.set(id, claimRemoved(id, seen.claimed.get(id) ?? 0));
    else if (seen.cancelled.size > 0) {
      // Read only when this node ever saw a cancel: an instance names its template in `from`.
      const t = templateOfFrom((await snap.view(id))?.handoff?.from);
      if (t !== null && t !== id && seen.cancelled.has(t) && !snap.index.tasks.get(t)?.cancel) verdicts.set(id, cancelRemoved(t));
    }
  }
}
