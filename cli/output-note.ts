import { LOG_TAIL_BYTES, type TaskOutput } from '../bus/ops/task-output.js';

/**
 * The line stderr gets when what `logs`, `run` or `dispatch --wait` print is less than the task's whole output:
 * how much of how much, and where all of it is (this node's log, or the log on the node that ran it, with the
 * command that shows it there). Null when the output is all there. Pure.
 */
export function truncationNote(out: Pick<TaskOutput, 'id' | 'node' | 'source' | 'log' | 'truncated' | 'shownBytes' | 'totalBytes' | 'fullLogPath' | 'fullLogRemoved'>): string | null {
  if (!out.truncated) return null;
  if (out.source === 'local' && out.log) return `gitbus: the log is ${megabytes(out.log.bytes)}; its first ${megabytes(out.log.skipped)} are not shown. All of it is in ${out.log.path}`;
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

function megabytes(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** A size as people read it: exact bytes while small (as `wc -c` counts them), else KB or MB. */
function size(n: number): string {
  if (n < 10 * 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return megabytes(n);
}
