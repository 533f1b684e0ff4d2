import { mkdir, rm } from '../node-fs-async.js';
import { fs } from '../node-fs.js';
import { existsSync } from 'node:fs';
import { isoGit } from '../git/iso-git.js';
import { looseCommitTime } from '../store/commit-time.js';
import { fetchObjects } from '../git/fetch.js';
import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import { HomeInUseError, NodeLiveError, NodeNameTakenError, NotABusError, UnsupportedProtocolError } from '../errors.js';
import { checkHomeIsNoRepository, homeHasNode, homePaths, loadNodeConfig, saveNodeConfig, type NodeConfig } from '../home.js';
import { nodeCard, defaultNodeName, withoutRunners } from '../node-card.js';
import { normalizeRemote, openTransport } from '../remote.js';
import { BusRepo } from '../repo.js';
import { shallowClone } from '../shallow-clone.js';
import { Snapshot } from '../model/snapshot.js';
import { KNOWN_PROTOCOL } from '../model/task-view.js';
import { heartbeatRef } from '../model/liveness.js';
import { formatDuration } from '../../schemas/duration.js';
import { transact } from '../cas.js';
import { actorFromEnv } from '../context.js';
import { warmStatusDigest } from './status.js';
import { checkNodeOptions } from './init.js';
import { choosePin, type TrustChoice } from '../trust/pin-choice.js';
import { savePin } from '../trust/pin.js';
import { markOwnFilesSigned } from '../trust/sign-own-files.js';
import { ensureNodeKey } from '../trust/node-key.js';
import { loadEd25519Key, signBusFileInProcess } from '../trust/node-signer.js';

/** A bus is refs/heads/main and nothing else: other branches (and HEAD) are someone else's, and say nothing. */
function noMainError(remote: string, refs: ReadonlyMap<string, string>): NotABusError {
  const branches = [...refs.keys()].filter((r) => r.startsWith('refs/heads/')).map((r) => r.slice('refs/heads/'.length));
  if (branches.length === 0) return new NotABusError(remote, 'the repository is empty', `create the bus there first with "gitbus init --remote ${remote}", then join it`);
  const shown = branches.slice(0, 5).join(', ') + (branches.length > 5 ? `, +${branches.length - 5} more` : '');
  return new NotABusError(
    remote,
    `it has no main branch (a bus lives on main; this repository has ${shown})`,
    `check the URL; to make a bus in this repository, run "gitbus init --remote ${remote}": it adds a main branch and leaves the others alone`,
  );
}

export interface JoinOptions {
  node?: string;
  labels?: string[];
  /** Runners this node's watcher may use (none by default). */
  runners?: NodeConfig['runners'];
  /**
   * Runners of `runners` whose program this machine lacks (the CLI looks them up on PATH, as the watcher does at
   * its start): kept in node.yaml, left off the card, so that no task is addressed here for them meanwhile.
   */
  unavailable?: readonly string[];
  parallel?: number;
  /**
   * Take over the name of a node already on the bus (this machine replaces it: rebuilt, reinstalled); refused
   * while that node's heartbeat is fresh within the lease.
   */
  force?: boolean;
  now?: Date;
  /** How to pin the bus's trust root, when it has one (docs/PROTOCOL.md §12). */
  trust?: TrustChoice;
}

export interface JoinResult {
  home: string;
  node: string;
  remote: string;
  commit: string | null;
  /** Whether an existing node of that name was taken over (`force`). */
  replaced: boolean;
  /** The trust root version this node pinned; null when the bus has none. */
  trust: { version: number; digest: string; admins: { principal: string; fingerprint: string }[] } | null;
  /** This node's own key, made at join on a bus with a trust root and offered on its card (null: no root). */
  nodeKey: { fingerprint: string; key: string } | null;
}

/**
 * How old `node`'s last heartbeat is by its commit time, in ms (negative when dated ahead of this clock), or null
 * when it never beat. A joining machine has observed nothing yet (PROTOCOL.md §5a judges silence by the
 * observer's clock), and waiting a lease to observe would make replacing a machine that slow; the beat's own
 * time is what there is. A beat dated in the future counts as fresh, so a fast clock errs towards refusing.
 */
async function heartbeatAgeMs(repo: BusRepo, node: string, main: string, now: Date): Promise<number | null> {
  const ref = heartbeatRef(node);
  const oid = repo.lastRefs.get(ref);
  if (!oid) return null;
  const { fetched } = await fetchObjects({ fs, gitdir: repo.gitdir, cache: repo.store.cache, transport: repo.transport, want: oid, ref, haves: [main], explodeBelow: Number.POSITIVE_INFINITY });
  const loose = await looseCommitTime(repo.gitdir, fetched);
  if (loose !== null) return now.getTime() - loose;
  const { commit } = await (await isoGit()).readCommit({ fs, gitdir: repo.gitdir, oid: fetched, cache: repo.store.cache });
  return now.getTime() - commit.committer.timestamp * 1000;
}

/**
 * Adds this machine to an existing bus: a shallow clone of main (a node needs the current state, never the
 * history) and this node's card, published with compare-and-swap so two nodes cannot take one name.
 */
export async function joinBus(home: string, url: string, opts: JoinOptions = {}): Promise<JoinResult> {
  const paths = homePaths(home);
  if (homeHasNode(home)) throw new HomeInUseError(home, (await loadNodeConfig(home).catch(() => ({ node: '?' }))).node);
  checkHomeIsNoRepository(home, 'join');
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
    if (!head) throw noMainError(remote, repo.lastRefs);
    // Not isomorphic-git's fetch: it resolves the remote's HEAD, which a bus never needs and which a plain
    // `git init --bare` leaves pointing at an unborn master (bus/shallow-clone.ts).
    const main = await shallowClone(paths.clone, transport, head, repo.store.cache);
    const snap = await Snapshot.read(repo.store, main);
    if (!snap.index.settings) throw new NotABusError(remote, 'main has no gitbus.yaml');
    if (snap.settings.protocol > KNOWN_PROTOCOL) throw new UnsupportedProtocolError(snap.settings.protocol, KNOWN_PROTOCOL);
    const config: NodeConfig = { node, remote, labels, runners: opts.runners ?? [], parallel: opts.parallel ?? 1 };
    const now = opts.now ?? new Date();
    // Before anything is written: a root this person does not accept leaves no trace of the join.
    const pin = await choosePin(snap, opts.trust ?? {}, now);
    // On a bus with a trust root the node signs what it writes: its key is made now, so the card offers it at once.
    const key = pin ? await ensureNodeKey(home, node) : null;
    let replaced = false;
    if (opts.force && snap.index.nodes.has(node)) {
      const age = await heartbeatAgeMs(repo, node, main, now);
      if (age !== null && age <= snap.settings.leaseMs) throw new NodeLiveError(node, age, snap.settings.leaseMs, formatDuration(snap.settings.leaseMs), new Date(now.getTime() - age), remote);
    }
    const ctx = { paths, config, repo, actor: actorFromEnv() };
    const r = await transact(ctx, 'join', async (latest) => {
      if (latest.index.nodes.has(node)) {
        // Taken while this join ran: that node is evidently alive, and its liveness was not checked.
        if (!opts.force || !snap.index.nodes.has(node)) throw new NodeNameTakenError(node);
        // The card is replaced; the old machine's claims are released by this node's watcher when it starts
        // (watcher/restart-recovery.ts recoverClaims), as after any restart.
        replaced = true;
      }
      const path = pathFor({ kind: 'node', node });
      const content = renderBusFile('node', nodeCard(withoutRunners(config, opts.unavailable), now.toISOString(), now, home, pin ?? undefined), '');
      // The pin is saved only after this commit (a refused join leaves no trace), so the card is signed here, not
      // by the compare-and-swap: signed from its first version, it counts once an admin lists the node's key.
      const sidecar = key ? [signBusFileInProcess(loadEd25519Key(key.privatePath), path, content)] : [];
      return {
        result: {},
        commit: { changes: [{ path, content }, ...sidecar], message: `gitbus: ${replaced ? 'replace' : 'join'} node ${node}` },
      };
    });
    await saveNodeConfig(home, config);
    // Pinned from its first file, the node signs all it writes: nothing of its own waits to be signed later.
    if (pin) await markOwnFilesSigned(home, now);
    if (pin) savePin(home, pin);
    // The node's first command then finds the parse cache warm (bus/store/parse-cache.ts), and its first status the
    // digest of main (bus/ops/status-digest.ts): the one-time join parses the live files, not every first command
    // after it. Only speed is at stake, so a failure here fails no join.
    await snap.allViews().catch(() => undefined);
    await warmStatusDigest(ctx).catch(() => undefined);
    return { home, node, remote, commit: r.commit, replaced, trust: pin ? { version: pin.pinned.version, digest: pin.pinned.digest, admins: pin.pinned.admins } : null, nodeKey: key ? { fingerprint: key.key.fingerprint, key: key.key.line } : null };
  } catch (err) {
    if (cloned) await rm(paths.clone, { recursive: true, force: true });
    if (madeHome) await rm(home, { recursive: true, force: true });
    throw err;
  } finally {
    await transport.close();
  }
}
