import type { TaskState } from './types.js';

/**
 * What becomes of a task whose dependency (`after`) ended without success (docs/PROTOCOL.md §4): it can never
 * run, so instead of waiting forever it is cancelled, with the reason, by whichever node notices first. Pure.
 */
export type DependencyState = TaskState | 'unknown';

/** Final states other than success: a task waiting for one of these waits in vain. */
export const DEAD_ENDS: readonly DependencyState[] = ['failed', 'cancelled', 'timed-out'];

/**
 * Whether a task waiting for a dependency in this state waits in vain: it ended without success, or it is a
 * schedule's template, which never ends (§4 rule 5).
 */
export function isDeadEnd(state: DependencyState): boolean {
  return DEAD_ENDS.includes(state) || state === 'scheduled';
}

const ENDED: Record<string, string> = { failed: 'failed', cancelled: 'was cancelled', 'timed-out': 'timed out', scheduled: 'is a schedule template, which never ends' };

/** `dependency <dep> failed` (or `was cancelled`, ...): why waiting for a dependency in a dead-end state is vain. */
export function deadEndReason(dep: string, state: DependencyState): string {
  return `dependency ${dep} ${ENDED[state] ?? state}`;
}

export interface BlockedTask {
  id: string;
  after: readonly string[];
}

/**
 * Of the given blocked tasks, those that can never run, each with the reason: a dependency ended without success
 * or is a schedule's template (which never ends), the task is on a ring of blocked tasks waiting on each other (dependencyCycles), or a dependency is itself one
 * of these (so a chain A <- B <- C falls together when A fails, in one decision). `cancelReasonOf`: the reason of a
 * cancelled dependency's cancel, so that one this rule cancelled earlier passes its root cause on. Other waits
 * (a dependency still pending, running, invalid, unknown or of a newer protocol) may still end well: left alone.
 */
export function doomedByDependencies(blocked: readonly BlockedTask[], stateOf: (id: string) => DependencyState, cancelReasonOf: (id: string) => string | undefined = () => undefined): Map<string, string> {
  const doomed = new Map<string, { reason: string; root: string }>();
  // Tasks waiting on each other in a ring wait for ever too (handoffs are written once: nobody can edit the ring open).
  for (const [id, ring] of dependencyCycles(blocked)) {
    const root = `its dependencies form a cycle (${ring})`;
    doomed.set(id, { reason: root, root });
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const t of blocked) {
      if (doomed.has(t.id)) continue;
      for (const dep of t.after) {
        const state = stateOf(dep);
        const via = doomed.get(dep);
        // A dependency cancelled earlier by the same rule: its root cause goes on, as when a chain falls at once.
        const earlier = state === 'cancelled' ? dependencyRoot(cancelReasonOf(dep)) : undefined;
        if (earlier) {
          doomed.set(t.id, { reason: `dependency ${dep} was cancelled: ${earlier}`, root: earlier });
        } else if (isDeadEnd(state)) {
          const root = deadEndReason(dep, state);
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

const ROOT_FORMS = [/^dependency \S+ (failed|was cancelled|timed out|is a schedule template, which never ends)$/, /^its dependencies form a cycle \(.*\)$/s];

/**
 * The root cause a cancel reason written by this rule carries (`dependency A failed`, `its dependencies form a
 * cycle (...)`, or the root after `dependency B was cancelled: `), or undefined for any other reason (a person's).
 */
export function dependencyRoot(reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  const chained = /^dependency \S+ was cancelled: (.+)$/s.exec(reason);
  if (chained?.[1] !== undefined && dependencyRoot(chained[1]) !== undefined) return chained[1];
  return ROOT_FORMS.some((form) => form.test(reason)) ? reason : undefined;
}

/**
 * A ring (its tasks once each) as a reason shows it, from the task at `from` back to it: every id while short,
 * else its start and end around a count (a reason must stay short, and a long ring is read once, not per task).
 */
function ringText(ring: readonly string[], from: number): string {
  const n = ring.length;
  const at = (k: number) => ring[(from + k) % n] as string;
  if (n <= 7) return [...Array.from({ length: n }, (_, k) => at(k)), at(0)].join(' -> ');
  return `${at(0)} -> ${at(1)} -> ${at(2)} -> ... ${n - 5} more ... -> ${at(n - 2)} -> ${at(n - 1)} -> ${at(0)}`;
}

/**
 * The blocked tasks that wait on themselves through other blocked tasks (`after` edges between them), each with one
 * ring it is on, from itself back to itself, as text (ringText). Tarjan's strongly connected components: a component of two or more
 * tasks, or one task naming itself, is a ring. Pure.
 */
export function dependencyCycles(blocked: readonly BlockedTask[]): Map<string, string> {
  const edges = new Map<string, string[]>();
  for (const t of blocked) edges.set(t.id, []);
  for (const t of blocked) for (const d of t.after) if (edges.has(d)) edges.get(t.id)?.push(d);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out = new Map<string, string>();
  let next = 0;
  const ringOf = (start: string, members: Set<string>): string[] => {
    // Breadth first from start's successors back to start, inside its component: a shortest ring.
    const parent = new Map<string, string>();
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      const at = queue[i] as string;
      for (const d of edges.get(at) ?? []) {
        if (!members.has(d)) continue;
        if (d === start) {
          const back: string[] = [];
          for (let n: string | undefined = at; n !== undefined && n !== start; n = parent.get(n)) back.push(n);
          return [start, ...back.reverse()];
        }
        if (!parent.has(d)) {
          parent.set(d, at);
          queue.push(d);
        }
      }
    }
    return [start];
  };
  const visit = (root: string) => {
    // Iterative, so that a long chain of dependencies cannot overflow the call stack.
    const work: { id: string; i: number }[] = [{ id: root, i: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const top = work[work.length - 1] as { id: string; i: number };
      const succ = edges.get(top.id) ?? [];
      if (top.i < succ.length) {
        const d = succ[top.i++] as string;
        if (!index.has(d)) {
          index.set(d, next);
          low.set(d, next++);
          stack.push(d);
          onStack.add(d);
          work.push({ id: d, i: 0 });
        } else if (onStack.has(d)) low.set(top.id, Math.min(low.get(top.id) ?? 0, index.get(d) ?? 0));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id) ?? 0, low.get(top.id) ?? 0));
      if (low.get(top.id) !== index.get(top.id)) continue;
      const members = new Set<string>();
      for (let m = stack.pop(); m !== undefined; m = stack.pop()) {
        onStack.delete(m);
        members.add(m);
        if (m === top.id) break;
      }
      const selfLoop = members.size === 1 && (edges.get(top.id) ?? []).includes(top.id);
      if (!(members.size > 1 || selfLoop)) continue;
      // One shortest ring for the component, turned to start at each task on it; a task of the component off that
      // ring gets a ring of its own (a search each, so only for components small enough to search from every task).
      const ring = ringOf(top.id, members);
      const at = new Map(ring.map((m, i) => [m, i]));
      for (const m of members) {
        const i = at.get(m);
        if (i !== undefined) out.set(m, ringText(ring, i));
        else out.set(m, members.size <= 500 ? ringText(ringOf(m, members), 0) : `${m} -> ... -> ${ringText(ring, 0)}`);
      }
    }
  };
  for (const t of blocked) if (!index.has(t.id)) visit(t.id);
  return out;
}
