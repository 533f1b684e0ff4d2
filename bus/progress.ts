import { appendFileSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { oneLineText } from '../schemas/output-text.js';
import { writeFileAtomicSync } from './local-io.js';

/**
 * Progress an agent posts from inside a task (`gitbus progress "..."`): one line, kept in the node's home as the
 * task's latest progress and appended to the task's log. The watcher puts the latest into its next heartbeat
 * (heartbeat.yaml, `running[].progress`), which is how `status`, `logs` and `dispatch --wait` on other nodes see
 * it; it beats early when progress is posted, at most once per `progressBeat` interval (watcher/progress-beats.ts, watcher/heartbeats.ts).
 */
export interface Progress {
  text: string;
  /** When it was posted (the posting node's clock). */
  at: string;
}

/** At most this many characters of one progress line reach the bus. */
export const MAX_PROGRESS_CHARS = 500;

/** A progress line as it is stored and shown: terminal text, one line, capped. Empty when nothing readable is left. Pure. */
export function progressText(raw: string): string {
  return oneLineText(raw.replace(/\s+/g, ' '), MAX_PROGRESS_CHARS);
}

export function progressDir(home: string): string {
  return join(home, 'progress');
}

export function progressPath(home: string, id: string, attempt: number): string {
  return join(progressDir(home), `${id}.${attempt}.json`);
}

/** Records `text` as the task's latest progress and appends it to the task's log. Returns what was stored. */
export function postProgress(home: string, id: string, attempt: number, raw: string, now = new Date()): Progress {
  const p: Progress = { text: progressText(raw), at: now.toISOString() };
  mkdirSync(progressDir(home), { recursive: true });
  writeFileAtomicSync(progressPath(home, id, attempt), `${JSON.stringify(p)}\n`);
  const logs = join(home, 'logs');
  mkdirSync(logs, { recursive: true });
  // One short line with O_APPEND, as the runners' own writes are: it lands between their lines, not inside one.
  appendFileSync(join(logs, `${id}.${attempt}.log`), `gitbus: progress: ${p.text}\n`);
  return p;
}

/** The task's latest progress on this node, or null (none posted, or unreadable). */
export function readProgress(home: string, id: string, attempt: number): Progress | null {
  try {
    return progressOf(JSON.parse(readFileSync(progressPath(home, id, attempt), 'utf8')));
  } catch {
    return null;
  }
}

/** A stored or heartbeat progress value, checked: untrusted like everything that came over the bus. Pure. */
export function progressOf(v: unknown): Progress | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o['text'] !== 'string' || typeof o['at'] !== 'string' || !Number.isFinite(Date.parse(o['at']))) return null;
  const text = progressText(o['text']);
  return text === '' ? null : { text, at: o['at'] };
}

/** Removes the progress of runs that are over (all but `keep`, keyed `<id>.<attempt>`). Best effort: never throws. */
export function pruneProgress(home: string, keep: Set<string>): void {
  try {
    for (const n of readdirSync(progressDir(home))) if (n.endsWith('.json') && !keep.has(n.slice(0, -'.json'.length))) rmSync(join(progressDir(home), n), { force: true });
  } catch {
    // A file left behind is read by no one: the watcher only reads the progress of its running tasks.
  }
}
