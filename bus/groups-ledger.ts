import { join } from 'node:path';
import { appendLedger, readLedger } from './jsonl-ledger.js';

/**
 * The fan-outs this home put on the bus: `<home>/groups.jsonl`, one JSON line per `gitbus fanout` (its group, its
 * integration task and every task id it made). Main forgets a fan-out once the watchers archive it (a day after it
 * ended, by default), and the archive is read by task id, never scanned: this file is how `gitbus group NAME` finds
 * an archived fan-out's tasks, on the node that made it. Appended by bus/ops/fanout.ts (a `fanout` note), and by
 * bus/ops/dispatch.ts and dispatch-batch.ts for a task that joins a group (a `follow-up` note: resolve, resume,
 * dispatch --group).
 */
export interface FannedOut {
  /** A `gitbus fanout` (its tasks), or a task that joined the group later (a resolve, a resume, a dispatch --group). */
  kind: 'fanout' | 'follow-up';
  group: string;
  /** The integration task's id (null for a plan with `integrate: false`, and for a follow-up). */
  integration: string | null;
  /** Every task the fan-out made, the integration's included (a follow-up: its own id). */
  ids: string[];
  /** When it was made (this machine's clock). */
  at: string;
}

/** Past this size the oldest half goes at the next append (about 4,000 fan-outs of ten tasks). */
const MAX_BYTES = 2 * 1024 * 1024;

export function groupsPath(home: string): string {
  return join(home, 'groups.jsonl');
}

/** Notes a fan-out. Never throws: the fan-out is on the bus (or queued) already; this is bookkeeping for `group`. */
export function noteGroup(home: string, entry: FannedOut): void {
  try {
    appendLedger(groupsPath(home), [entry], MAX_BYTES, parseEntry);
  } catch {
    // A full disk or a lock held for too long: `group` then finds this fan-out only while it is on main.
  }
}

/**
 * The group's tasks as this home noted them: its newest fan-out and the follow-ups noted after it (resolve, resume,
 * dispatch --group); null when this home noted none of that name.
 */
export function recordedGroup(home: string, group: string): FannedOut | null {
  const notes = readLedger(groupsPath(home), parseEntry).filter((e) => e.group === group);
  const last = notes.findLastIndex((e) => e.kind === 'fanout');
  const from = notes.slice(Math.max(0, last));
  const first = from[0];
  if (first === undefined) return null;
  return { kind: first.kind, group, integration: first.integration, ids: [...new Set(from.flatMap((e) => e.ids))], at: first.at };
}

function parseEntry(v: unknown): FannedOut | null {
  const e = (typeof v === 'object' && v !== null ? v : {}) as Partial<FannedOut>;
  if (typeof e.group !== 'string' || typeof e.at !== 'string' || !Array.isArray(e.ids) || !e.ids.every((id) => typeof id === 'string')) return null;
  if (e.integration !== null && typeof e.integration !== 'string') return null;
  // Notes of the first day had no kind: a fan-out's named its integration.
  const kind = e.kind === 'fanout' || e.kind === 'follow-up' ? e.kind : e.integration !== null ? 'fanout' : 'follow-up';
  return { kind, group: e.group, integration: e.integration, ids: e.ids, at: e.at };
}
