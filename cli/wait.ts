import type { BusContext } from '../bus/context.js';
import type { TaskOutput } from '../bus/ops/task-output.js';
import { waitForTask } from '../watcher/wait-for-task.js';

/**
 * `--wait`: until the task ends, however long (Ctrl-C stops the waiting), reporting each change of state and each
 * progress line, and with `onOutput` the output as it grows (watcher/wait-for-task.ts). Returns the final output.
 */
export async function waitForEnd(ctx: BusContext, id: string, onProgress: (line: string) => void, onOutput?: (text: string) => void): Promise<TaskOutput> {
  const { out } = await waitForTask(ctx, id, {
    timeoutMs: Number.POSITIVE_INFINITY,
    signal: new AbortController().signal,
    onState: async (line) => onProgress(line),
    onOutput: async (text) => onOutput?.(text),
  });
  return out;
}
