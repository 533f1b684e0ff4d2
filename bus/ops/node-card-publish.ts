import { renderBusFile } from '../../schemas/bus-file.js';
import type { CardEnv } from '../../schemas/env-drift.js';
import { pathFor } from '../../schemas/layout.js';
import type { NodeCard } from '../../schemas/node-card.js';
import { transact } from '../cas.js';
import type { BusContext } from '../context.js';
import type { Snapshot } from '../model/snapshot.js';
import { nodeCard } from '../node-card.js';
import { tmuxSocketOf } from '../tmux-socket.js';
import { refuseIfLeft } from '../left-home.js';

export interface CardOptions {
  now?: Date;
  /** The drift of this node's environment profiles (bus/env/); undefined keeps what the card says. */
  env?: CardEnv[];
  /** A snapshot already read (TransactOptions.peek): an unchanged card costs no round trip. */
  peek?: Snapshot;
  /**
   * The watcher, which found each enabled runner's program at its start and left out the missing ones
   * (watcher/runner-binaries.ts), publishes the runners of its config. Any other command keeps those the card
   * offers, less those node.yaml no longer enables: it never offers a runner the watcher found no program for.
   * So with the tmux socket (bus/tmux-socket.ts): the watcher publishes its own, any other command keeps the card's.
   */
  fromWatcher?: boolean;
}

/**
 * Rewrites this node's card when what it publishes (labels, runners, parallel, policy, environment drift, version,
 * host, tmux socket, key) no longer matches, e.g. after node.yaml was edited. Only this node writes its card. `options` may be
 * just the time.
 */
export async function publishNodeCard(ctx: BusContext, options: CardOptions | Date = {}): Promise<boolean> {
  const opts: CardOptions = options instanceof Date ? { now: options } : options;
  // A node that left the bus does not come back by the way (an environment report, a trust listing): `gitbus join`.
  refuseIfLeft(ctx.paths.home, ctx.config.node, ctx.config.remote);
  const now = opts.now ?? new Date();
  const r = await transact(
    ctx,
    'node card',
    async (snap) => {
      const current = (await snap.nodes()).find((n) => n.node === ctx.config.node)?.card;
      const env = opts.env ?? current?.env;
      const card = nodeCard(ctx.config, current?.joined ?? now.toISOString(), now, ctx.paths.home);
      const published = current?.runners;
      const runners = opts.fromWatcher || !published || !card.runners ? card.runners : card.runners.filter((r) => published.includes(r));
      // The watcher's own environment decides its tmux server; any other command keeps what its watcher published.
      const tmuxSocket = opts.fromWatcher ? (runsTmux(card.runners) ? tmuxSocketOf() : undefined) : current?.tmuxSocket;
      const next: NodeCard = { ...card, ...(runners ? { runners } : {}), ...(env && env.length > 0 ? { env } : {}), ...(tmuxSocket ? { tmuxSocket } : {}) };
      if (current && same(current, next)) return { result: { changed: false } };
      return {
        result: { changed: true },
        commit: { changes: [{ path: pathFor({ kind: 'node', node: ctx.config.node }), content: renderBusFile('node', next, '') }], message: `gitbus: node card ${ctx.config.node}` },
      };
    },
    opts.peek ? { peek: opts.peek } : {},
  );
  return r.changed;
}

/** The runners that start tmux sessions a person attaches to: tmux, and claude (its interactive tasks). */
const runsTmux = (runners: readonly string[] | undefined): boolean => runners?.some((r) => r === 'tmux' || r === 'claude') === true;

/** Equal but for the times; compared as written (renderBusFile orders the fields), so key order never counts. */
function same(a: NodeCard, b: NodeCard): boolean {
  const strip = ({ updated: _u, joined: _j, ...rest }: NodeCard) => renderBusFile('node', rest, '');
  return strip(a) === strip(b);
}
