import { LOG_TAIL_BYTES, type TaskOutput } from '../bus/ops/task-output.js';
import type { LogNotShown } from '../watcher/output-follow.js';

/**
 * The line stderr gets when what `logs`, `run` or `dispatch --wait` print is less than the task's whole output:
 * how much of how much, and where all of it is (this node's log, or the log on the node that ran it, with the
 * command that shows it there). Null when the output is all there. `followed`: what a follower that printed this
 * node's log as it grew (`logs --follow`, `--wait`) left out of it, which is what is said of that log then, not
 * what the window of `out` leaves out (the follower printed from its first window on). Pure.
 */
export function truncationNote(out: Pick<TaskOutput, 'id' | 'node' | 'source' | 'log' | 'truncated' | 'shownBytes' | 'totalBytes' | 'fullLogPath' | 'fullLogRemoved'>, followed: LogNotShown | null = null): string | null {
  if (out.source === 'local' && out.log && followed?.path === out.log.path) return followedNote(followed);
  if (!out.truncated) return null;
  if (out.source === 'local' && out.log) return `gitbus: the log is ${size(out.log.bytes)}; ${firstNotShown(out.log.skipped)}. All of it is in ${out.log.path}`;
  const of = out.shownBytes !== undefined && out.totalBytes !== undefined ? `: the last ${size(out.shownBytes)} of ${size(out.totalBytes)}` : '';
  const node = out.node ?? 'the node that ran it';
  if (out.fullLogRemoved === true) return `gitbus: only the end of ${out.id}'s output is shown${of}. All of it was in ${out.fullLogPath ?? 'the log'} on this node, which the watcher has since removed (it keeps logs for --keep-logs, default 14d)`;
  const where = out.fullLogPath ? `${out.fullLogPath} on ${node}` : `the log on ${node}`;
  const there = out.totalBytes !== undefined && out.totalBytes > LOG_TAIL_BYTES ? 'its last 8 MB' : 'all of it';
  return `gitbus: only the end of ${out.id}'s output is shown${of}. All of it is in ${where}; "gitbus logs ${out.id}" there shows ${there}`;
}

/** The JSON fields of the same facts, for `run --json` and `dispatch --wait --json` (`logs --json` has them as they are). Pure. */
export function truncationFields(out: Pick<TaskOutput, 'truncated' | 'shownBytes' | 'totalBytes' | 'fullLogPath' | 'fullLogRemoved'>): Pick<TaskOutput, 'truncated' | 'shownBytes' | 'totalBytes' | 'fullLogPath' | 'fullLogRemoved'> {
  if (!out.truncated) return { truncated: false };
  return { truncated: true, ...(out.shownBytes !== undefined ? { shownBytes: out.shownBytes } : {}), ...(out.totalBytes !== undefined ? { totalBytes: out.totalBytes } : {}), ...(out.fullLogPath !== undefined ? { fullLogPath: out.fullLogPath } : {}), ...(out.fullLogRemoved === true ? { fullLogRemoved: true } : {}) };
}

/** Of this node's log, what a follower did not print: its start, and what came in faster than it read. */
function followedNote(f: LogNotShown): string | null {
  if (f.first + f.between === 0) return null;
  const all = `All of it is in ${f.path}`;
  if (f.between === 0) return `gitbus: the log is ${size(f.bytes)}; ${firstNotShown(f.first)}. ${all}`;
  const fast = `where more than ${LOG_TAIL_BYTES / (1024 * 1024)} MB came in between two reads (the output says where)`;
  const which = f.first > 0 ? `: its first ${size(f.first)}, and ${size(f.between)} ${fast}` : `, ${fast}`;
  return `gitbus: the log is ${size(f.bytes)}; ${size(f.first + f.between)} of it are not shown${which}. ${all}`;
}

/** "its first 40.0 KB are not shown", with the verb a single byte takes. */
function firstNotShown(n: number): string {
  return n === 1 ? 'its first byte is not shown' : `its first ${size(n)} are not shown`;
}

/**
 * A size as people read it: exact bytes while small (as `wc -c` counts them), else KB or MB, each with one decimal
 * and never rounded up into the next unit's range, so that bytes left out never read as 0.0 and 1023.99 KB is not
 * 1024.0 KB.
 */
export function size(n: number): string {
  if (n < 10 * 1024) return n === 1 ? '1 byte' : `${n} bytes`;
  if (n < 1024 * 1024 - 51) return `${(n / 1024).toFixed(1)} KB`;
  return `${Math.max(1, n / (1024 * 1024)).toFixed(1)} MB`;
}
