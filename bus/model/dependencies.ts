import type { TaskState } from './types.js';

/**
 * What becomes of a task whose dependency (`after`) ended without success (docs/PROTOCOL.md §4): it can never
 * run, so instead of waiting forever it is cancelled, with the reason, by whichever node notices first. Pure.
 */
export type DependencyState = TaskState | 'unknown';

/** Final states other than success: a task waiting for one of these waits in vain. */
export const DEAD_ENDS: readonly DependencyState[] = ['failed', 'cancelled', 'timed-out'];

export function isDeadEnd(state: DependencyState): boolean {
  return DEAD_ENDS.includes(state);
}

const ENDED: Record<string, string> = { failed: 'failed', cancelled: 'was cancelled', 'timed-out': 'timed out' };

export interface BlockedTask {
  id: string;
  after: readonly string[];
}

/**
 * Of the given blocked tasks, those that can never run, each with the reason: a dependency ended without success,
 * or is itself one of these (so a chain A <- B <- C falls together when A fails, in one decision). Other waits
 * (a dependency still pending, running, invalid, unknown or of a newer protocol) may still end well: left alone.
 */
export function doomedByDependencies(blocked: readonly BlockedTask[], stateOf: (id: string) => DependencyState): Map<string, string> {
  const doomed = new Map<string, { reason: string; root: string }>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const t of blocked) {
      if (doomed.has(t.id)) continue;
      for (const dep of t.after) {
        const state = stateOf(dep);
        const via = doomed.get(dep);
        if (isDeadEnd(state)) {
          const root = `dependency ${dep} ${ENDED[state] ?? state}`;
          doomed.set(t.id, { reason: root, root });
        } else if (via) {
          doomed.set(t.id, { reason: `dependency ${dep} was cancelled: ${via.root}`, root: via.root });
        } else continue;
        changed = true;
        break;
      }
    }
  }
  return new Map([...doomed].map(([id, d]) => [id, d.reason]));
}
