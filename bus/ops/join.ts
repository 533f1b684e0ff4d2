import { mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import { HomeInUseError, NodeNameTakenError, NotABusError, UnsupportedProtocolError } from '../errors.js';
import { homeHasNode, homePaths, loadNodeConfig, saveNodeConfig, type NodeConfig } from '../home.js';
import { nodeCard, defaultNodeName } from '../node-card.js';
import { normalizeRemote, openTransport } from '../remote.js';
import { BusRepo } from '../repo.js';
import { shallowClone } from '../shallow-clone.js';
import { Snapshot } from '../model/snapshot.js';
import { KNOWN_PROTOCOL } from '../model/task-view.js';
import { transact } from '../cas.js';
import { actorFromEnv } from '../context.js';
import { checkNodeOptions } from './init.js';

export interface JoinOptions {
  node?: string;
  labels?: string[];
  /** Runners this node's watcher may use (none by default). */
  runners?: NodeConfig['runners'];
  parallel?: number;
  now?: Date;
}

export interface JoinResult {
  home: string;
  node: string;
  remote: string;
  commit: string | null;
}

/**
 * Adds this machine to an existing bus: a shallow clone of main (a node needs the current state, never the
 * history) and this node's card, published with compare-and-swap so two nodes cannot take one name.
 */
export async function joinBus(home: string, url: string, opts: JoinOptions = {}): Promise<JoinResult> {
  const paths = homePaths(home);
  if (homeHasNode(home)) throw new HomeInUseError(home, (await loadNodeConfig(home).catch(() => ({ node: '?' }))).node);
  const node = opts.node ?? defaultNodeName();
  const labels = opts.labels ?? [];
  checkNodeOptions(node, labels, opts.runners);
  const remote = normalizeRemote(url);
  const transport = await openTransport(remote, home);
  let cloned = false;
  // A home this join made is removed again if it fails, so that trying again starts clean.
  const madeHome = !existsSync(home);
  try {
    await mkdir(home, { recursive: true });
    cloned = true;
    const repo = new BusRepo(paths.clone, transport);
    const head = await repo.remoteHead();
    if (!head) throw new NotABusError(remote, 'it has no main branch');
    const snap = await Snapshot.read(repo.store, await shallowClone(paths.clone, transport, head, repo.store.cache));
    if (!snap.index.settings) throw new NotABusError(remote, 'main has no gitbus.yaml');
    if (snap.settings.protocol > KNOWN_PROTOCOL) throw new UnsupportedProtocolError(snap.settings.protocol, KNOWN_PROTOCOL);
    const config: NodeConfig = { node, remote, labels, runners: opts.runners ?? [], parallel: opts.parallel ?? 1 };
    const now = opts.now ?? new Date();
    const ctx = { paths, config, repo, actor: actorFromEnv() };
    const r = await transact(ctx, 'join', async (latest) => {
      if (latest.index.nodes.has(node)) throw new NodeNameTakenError(node);
      return {
        result: {},
        commit: { changes: [{ path: pathFor({ kind: 'node', node }), content: renderBusFile('node', nodeCard(config, now.toISOString(), now), '') }], message: `gitbus: join node ${node}` },
      };
    });
    await saveNodeConfig(home, config);
    return { home, node, remote, commit: r.commit };
  } catch (err) {
    if (cloned) await rm(paths.clone, { recursive: true, force: true });
    if (madeHome) await rm(home, { recursive: true, force: true });
    throw err;
  } finally {
    await transport.close();
  }
}
