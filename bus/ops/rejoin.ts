import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import { transact } from '../cas.js';
import type { BusContext } from '../context.js';
import { NodeNameTakenError } from '../errors.js';
import { clearLeft } from '../left-home.js';
import { nodeCard, withoutRunners } from '../node-card.js';

export interface RejoinResult {
  home: string;
  node: string;
  remote: string;
  commit: string | null;
}

/**
 * A node that left the bus (`gitbus leave`, bus/left-home.ts) joins it again from its home as it was left: its card
 * from node.yaml, published with compare-and-swap so that it does not take over a node of its name that joined
 * since, then the home's note that it left taken away, so that its watcher may start. `unavailable`: runners of
 * node.yaml whose program this machine lacks, left off the card (as join leaves them off).
 */
export async function rejoinBus(ctx: BusContext, opts: { unavailable?: readonly string[]; now?: Date } = {}): Promise<RejoinResult> {
  const node = ctx.config.node;
  const now = opts.now ?? new Date();
  const r = await transact(ctx, 'join again', async (snap) => {
    if ((await snap.nodes()).some((n) => n.node === node) || snap.forged.some((f) => f.kind === 'node' && f.node === node)) throw new NodeNameTakenError(node);
    const content = renderBusFile('node', nodeCard(withoutRunners(ctx.config, opts.unavailable), now.toISOString(), now, ctx.paths.home), '');
    return { result: {}, commit: { changes: [{ path: pathFor({ kind: 'node', node }), content }], message: `gitbus: node ${node} joins again` } };
  });
  clearLeft(ctx.paths.home);
  return { home: ctx.paths.home, node, remote: ctx.config.remote, commit: r.commit };
}
