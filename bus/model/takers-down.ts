import type { ShownLiveness } from './liveness.js';
import { roughAge } from '../../schemas/duration.js';

/*
 * A task a node's card lets it take still waits when that node does not run: its watcher stopped (seed 001's GPU box,
 * often offline), fell silent, or never ran. The cards (planner.ts noTaker) cannot say that; the heartbeats can, as
 * `status` judges them (bus/ops/node-liveness.ts). What dispatch, status and a wait's timeout say of it is worded here.
 */

/** A node that runs no watcher now, as `status` shows it: how, and when it last beat (observer's clock, ms). */
export interface NodeDown {
  liveness: Extract<ShownLiveness, 'stopped' | 'silent' | 'unleased'>;
  beatAt: number | null;
}

/** Whether a node shown with this liveness runs a watcher that takes tasks (`idle` does: it only beats rarely). Pure. */
export function isDown(liveness: ShownLiveness): liveness is NodeDown['liveness'] {
  return liveness === 'stopped' || liveness === 'silent' || liveness === 'unleased';
}

/**
 * Why a task waits although cards let nodes take it: every one of `takers` (planner.ts cardTakers) is down; null when
 * one runs, or when there are none (noTaker says why then). `addressed`: the task names its one node (`to`). Pure.
 */
export function takersDownText(takers: readonly string[], addressed: boolean, down: ReadonlyMap<string, NodeDown>, now: number): string | null {
  if (takers.length === 0 || takers.some((n) => !down.has(n))) return null;
  const [only] = takers;
  if (takers.length === 1 && only !== undefined) {
    const d = down.get(only) as NodeDown;
    return `${addressed ? '' : 'the only node that can take it, '}${downState(only, d, now)}${waitsUntil(only, d)}`;
  }
  const shown = takers.slice(0, 3).map((n) => downState(n, down.get(n) as NodeDown, now));
  return `every node that can take it is down: ${shown.join('; ')}${takers.length > 3 ? `; and ${takers.length - 3} more` : ''}; the task waits until one of them runs a watcher again`;
}

/** "node gpu is stopped (since 2026-…Z, 5m ago)": how the node is down, and since when. Pure. */
export function downState(node: string, d: NodeDown, now: number): string {
  const since = d.beatAt === null ? '' : ` (since ${new Date(d.beatAt).toISOString().replace(/\.\d{3}Z$/, 'Z')}, ${roughAge(now - d.beatAt)} ago)`;
  if (d.liveness === 'stopped') return `node ${node} is stopped${since}: its watcher shut down cleanly`;
  if (d.liveness === 'silent') return `node ${node} is silent${since.replace(/^ \(since /, ' (last heartbeat ')}: its heartbeat is older than the lease, its watcher or machine is down`;
  return `node ${node} has no watcher running (it never beat)`;
}

function waitsUntil(node: string, d: NodeDown): string {
  if (d.liveness === 'silent') return `; the task waits until its watcher beats again (see to ${node}'s machine, then "gitbus watch" or its service there)`;
  return `; the task waits until ${d.liveness === 'stopped' ? 'its watcher runs again' : 'a watcher runs there'} ("gitbus watch", or "gitbus service install", on ${node})`;
}
