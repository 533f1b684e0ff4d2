import type { FileProblem } from '../schemas/errors.js';
import type { TaskSummary } from '../bus/ops/task-summary.js';
import type { TrustVerdict } from '../bus/trust/verify-verdicts.js';
import { instantMs } from '../schemas/timestamp.js';
import { roughAge } from '../schemas/duration.js';

/**
 * A problem as two lines. Its parts quote the bus (a file name, a YAML key, a value), which may hold line breaks:
 * they cannot start a line of their own that reads as gitbus's ("    fix: ..."). A name is kept on its line (^J,
 * ^M); a reason or fix that runs over lines (YAML's error with the line it points at) goes on behind "    | ".
 */
export function problemLine(p: FileProblem): string {
  return `${p.severity === 'error' ? 'error' : 'warning'}: ${name(p.path)}${p.field ? ` (${name(p.field)})` : ''}: ${quoted(p.reason)}\n    fix: ${quoted(p.fix)}`;
}

const name = (text: string): string => text.replace(/\n/g, '^J').replace(/\r/g, '^M');
const quoted = (text: string): string => text.replace(/\r?\n/g, '\n    | ');

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const ms = now - instantMs(iso);
  if (!Number.isFinite(ms)) return '';
  return `${roughAge(ms)} ago`;
}

/** A length of time for people: 0.4s, 4s, 1m30s, 5m, 2h. */
export function span(ms: number): string {
  if (ms < 10_000) return `${Math.round(ms / 100) / 10}s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
}

/** A size on disk for people: 980 B, 45.2 KiB, 12.3 MiB, 1.4 GiB. */
export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i] as string}`;
}

/** A dependency a blocked task waits for, and what is wrong with it when it is more than "not done yet". */
function dependencyText(d: { id: string; state: string }): string {
  if (d.state === 'scheduled') return `${d.id}, a schedule template, which never ends: it will be cancelled`;
  if (d.state === 'failed' || d.state === 'cancelled' || d.state === 'timed-out') return `${d.id}, which ${d.state === 'cancelled' ? 'was cancelled' : d.state === 'timed-out' ? 'timed out' : 'failed'}: it will be cancelled`;
  if (d.state === 'unknown' || d.state === 'invalid' || d.state === 'unsupported') return `${d.id}, which is ${d.state}`;
  return d.id;
}

/** One task on a line; `idWidth`: the widest id listed with it, so that the columns line up. */
export function taskLine(t: TaskSummary, idWidth = 0): string {
  const where = t.claim ? ` on ${t.claim.node ?? '?'}` : t.to ? ` for ${t.to}` : '';
  const labels = t.labels.length ? ` [${t.labels.join(',')}]` : '';
  const prio = t.priority ? ` p${t.priority}` : '';
  const waiting = t.waitingFor.length ? ` (after ${t.waitingOn.map(dependencyText).join(', ')})` : t.exhausted ? ` (all ${t.attempts} attempts used: a watcher answers it failed)` : '';
  const branch = t.branch ? ` -> ${t.branch}` : '';
  return `  ${t.id.padEnd(idWidth)}  ${t.state.padEnd(10)} ${t.title ?? '(unreadable handoff)'}${where}${labels}${prio}${branch}${waiting}`;
}

/** What a node makes of a handoff, in a word, as `verify` and `show` say it before the verdict's reason. */
export function handoffVerdictWord(v: Pick<TrustVerdict, 'trusted' | 'notForThisNode'>): string {
  return v.trusted ? 'runs here' : v.notForThisNode ? 'not for this node' : 'refused here';
}
