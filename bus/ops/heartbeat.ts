import { stringify } from 'yaml';
import { terminalText } from '../../schemas/output-text.js';
import { PushRejectedError } from '../git/push-errors.js';
import type { BusContext } from '../context.js';
import { heartbeatRef } from '../model/liveness.js';
import { buildCommit, type FileChange } from '../store/objects.js';

export interface RunningTask {
  id: string;
  attempt: number;
  /** The end of its output so far, so that `gitbus logs` works from any node. */
  tail: string;
}

/**
 * Proves this node is alive: a parentless commit that replaces the previous one on the node's own ref
 * `refs/gitbus/heartbeats/<node>`. Nothing else writes that ref, `main`'s history never sees it, and its old
 * commits become garbage instead of history. Returns false when the push lost a race (another process of the
 * same node beat at the same moment), which the next beat repairs.
 */
export async function publishHeartbeat(ctx: BusContext, running: RunningTask[], now = new Date()): Promise<boolean> {
  const ref = heartbeatRef(ctx.config.node);
  // No clone lock: this node is the only writer of its heartbeat ref, and the push is its own compare-and-swap.
  const current = (await ctx.repo.transport.listRefs()).get(ref) ?? null;
  const state = { node: ctx.config.node, time: now.toISOString(), pid: process.pid, running: running.map(({ id, attempt }) => ({ id, attempt })) };
  const changes: FileChange[] = [{ path: 'heartbeat.yaml', content: `# gitbus heartbeat: rewritten by its node every beat\n${stringify(state)}` }];
  for (const t of running) changes.push({ path: `logs/${t.id}.${t.attempt}.log`, content: terminalText(t.tail) });
  const built = await buildCommit(ctx.repo.store, { parent: null, changes, message: `gitbus: heartbeat ${ctx.config.node}`, author: { name: ctx.config.node, email: `${ctx.config.node}@gitbus.invalid` }, now });
  try {
    await ctx.repo.push(null, built, ref, current);
    return true;
  } catch (err) {
    if (err instanceof PushRejectedError && err.data['kind'] === 'stale') return false;
    throw err;
  }
}
