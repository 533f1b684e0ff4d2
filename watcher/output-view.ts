import type { TaskOutput } from '../bus/ops/task-output.js';
import { isFinal } from '../bus/model/types.js';
import { readableClaudeLog } from './runners/claude-format.js';

/**
 * A task's output as `logs` and `dispatch --wait` show it: a claude run's stream-json as readable lines
 * (watcher/runners/claude-format.ts), anything else as it is; `raw` shows what the node logged. A log still being
 * written is shown up to its last whole line, so that a JSON line half written is not taken for text. Pure.
 */
export function outputView(out: Pick<TaskOutput, 'runner' | 'text' | 'source' | 'state'>, raw = false): string {
  if (raw || out.runner !== 'claude') return out.text;
  const growing = out.source === 'local' && !isFinal(out.state);
  return readableClaudeLog(growing ? out.text.slice(0, out.text.lastIndexOf('\n') + 1) : out.text);
}
