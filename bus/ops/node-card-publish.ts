import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import type { NodeCard } from '../../schemas/node-card.js';
import { transact } from '../cas.js';
import type { BusContext } from '../context.js';
import { nodeCard } from '../node-card.js';

/**
 * Rewrites this node's card when what it publishes (labels, runners, parallel, policy, version, host) no longer
 * matches its settings, e.g. after node.yaml was edited. Only this node writes its card.
 */
export async function publishNodeCard(ctx: BusContext, now = new Date()): Promise<boolean> {
  const r = await transact(ctx, 'node card', async (snap) => {
    const current = (await snap.nodes()).find((n) => n.node === ctx.config.node)?.card;
    const next = nodeCard(ctx.config, current?.joined ?? now.toISOString(), now, ctx.paths.home);
    if (current && same(current, next)) return { result: { changed: false } };
    return {
      result: { changed: true },
      commit: { changes: [{ path: pathFor({ kind: 'node', node: ctx.config.node }), content: renderBusFile('node', next, '') }], message: `gitbus: node card ${ctx.config.node}` },
    };
  });
  return r.changed;
}

function same(a: NodeCard, b: NodeCard): boolean {
  const strip = ({ updated: _u, joined: _j, ...rest }: NodeCard) => JSON.stringify(rest);
  return strip(a) === strip(b);
}
