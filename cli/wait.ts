import type { BusContext } from '../bus/context.js';
import type { TaskOutput } from '../bus/ops/task-output.js';
import { waitForTask } from '../watcher/wait-for-task.js';

/**
 * `--wait`: until the task ends, or for at most `timeoutMs` (`--wait-timeout`; Ctrl-C stops the waiting too),
 * reporting each change of state and each progress line, and with `onOutput` the output as it grows
 * (watcher/wait-for-task.ts). Returns the last output, and whether the task ended.
 */
export async function waitForEnd(ctx: BusContext, id: string, onProgress: (line: string) => void, onOutput?: (text: string) => void, timeoutMs = Number.POSITIVE_INFINITY): Promise<{ out: TaskOutput; ended: boolean }> {
  return waitForTask(ctx, id, {
    timeoutMs,
    signal: new AbortController().signal,
    onState: async (line) => onProgress(line),
    onOutput: async (text) => onOutput?.(text),
  });
}

/** What `--wait-timeout` says when the time is up: the task is not stopped, only the waiting. */
export function stoppedWaiting(id: string, state: string, after: string): string {
  return `gitbus: stopped waiting after ${after}: ${id} is ${state}, and goes on; follow it with "gitbus logs ${id} --follow", or end it with "gitbus cancel ${id}"`;
}
