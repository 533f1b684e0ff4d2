import { homePaths, loadNodeConfig, type HomePaths, type NodeConfig } from './home.js';
import { BusRepo } from './repo.js';
import { openTransport } from './remote.js';
import type { Transport } from './transport/transport.js';
import { ensureClone, repairClone } from './clone-repair.js';
import { sweepLeftovers } from './leftovers.js';

/** Everything an operation needs about this node and its clone. */
export interface BusContext {
  paths: HomePaths;
  config: NodeConfig;
  repo: BusRepo;
  /** Who is acting on this node, recorded in claims and cancels (`by`). */
  actor: string;
}

/** `wrap`: the transport as a long-lived caller wants it (the MCP server's listing budget, bus/transport/listing-budget.ts). */
export async function openBus(home: string, actor = actorFromEnv(), wrap?: (t: Transport) => Transport): Promise<BusContext> {
  const paths = homePaths(home);
  const config = await loadNodeConfig(home);
  const opened = await openTransport(config.remote, home);
  const transport = wrap ? wrap(opened) : opened;
  try {
    await ensureClone(paths.clone, transport);
  } catch (err) {
    await transport.close();
    throw err;
  }
  // A command is a cheap moment to remove what killed processes of this node left (two short listings).
  sweepLeftovers(paths);
  return { paths, config, repo: selfRepairing(new BusRepo(paths.clone, transport)), actor };
}

export function actorFromEnv(): string {
  return process.env['GITBUS_ACTOR'] ?? process.env['USER'] ?? 'cli';
}

/** A damaged object in the clone is fetched again from the remote instead of failing every command (bus/clone-repair.ts). */
export function selfRepairing(repo: BusRepo): BusRepo {
  repo.store.repair = async (oid, damage) => {
    await repairClone(repo, oid, damage);
  };
  return repo;
}
