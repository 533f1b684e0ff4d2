import type { BusContext } from '../bus/context.js';
import { newOutput, taskOutput, type TaskOutput } from '../bus/ops/task-output.js';
import { isFinal } from '../bus/model/types.js';
import { outputView } from '../watcher/output-view.js';

/**
 * Polls a task until it ends, reporting each change of state and each progress line its agent posts (and, with
 * `onOutput`, its output as it grows, a claude run as readable lines). Returns the final output. Polls once a
 * second: a local remote answers from a file read, a remote one from a ref listing, until something changes.
 */
export async function waitForEnd(ctx: BusContext, id: string, onProgress: (line: string) => void, onOutput?: (text: string) => void): Promise<TaskOutput> {
  let last = '';
  let shown = '';
  let progressAt: string | undefined;
  for (;;) {
    const out = await taskOutput(ctx, id);
    const where = out.node ? ` on ${out.node}${out.attempt ? ` (attempt ${out.attempt})` : ''}` : '';
    const line = `${out.id}: ${out.state}${where}`;
    if (line !== last) onProgress(line);
    last = line;
    if (out.progress && out.progress.at !== progressAt) onProgress(`${out.id}: progress: ${out.progress.text}`);
    progressAt = out.progress?.at ?? progressAt;
    if (onOutput) {
      const view = outputView(out);
      const more = newOutput(shown, view);
      if (more) onOutput(more);
      shown = view;
    }
    if (isFinal(out.state)) return out;
    await new Promise((r) => setTimeout(r, 1000));
  }
}
