import type { BusContext } from '../bus/context.js';
import { newOutput, taskOutput, type TaskOutput } from '../bus/ops/task-output.js';
import { isFinal } from '../bus/model/types.js';

/**
 * Polls a task until it ends, reporting each change of state (and, with `onOutput`, its output as it grows).
 * Returns the final output. Polls once a second: a local remote answers from a file read, a remote one from a
 * ref listing, until something changes.
 */
export async function waitForEnd(ctx: BusContext, id: string, onProgress: (line: string) => void, onOutput?: (text: string) => void): Promise<TaskOutput> {
  let last = '';
  let shown = '';
  for (;;) {
    const out = await taskOutput(ctx, id);
    const where = out.node ? ` on ${out.node}${out.attempt ? ` (attempt ${out.attempt})` : ''}` : '';
    const line = `${out.id}: ${out.state}${where}`;
    if (line !== last) onProgress(line);
    last = line;
    if (onOutput) {
      const more = newOutput(shown, out.text);
      if (more) onOutput(more);
      shown = out.text;
    }
    if (isFinal(out.state)) return out;
    await new Promise((r) => setTimeout(r, 1000));
  }
}
