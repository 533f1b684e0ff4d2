import { fs } from '../node-fs.js';
import { isoGit } from '../git/iso-git.js';
import { looseCommitTime } from '../store/commit-time.js';
import type { NodeConfig } from '../home.js';
import type { BusRepo } from '../repo.js';
import type { Snapshot } from '../model/snapshot.js';
import { cardlessNodes, HEARTBEAT_PREFIX, heartbeatRef, setAsideCards, strayHeartbeatRefs, withoutNodes } from '../model/liveness.js';
import { visibleText } from '../../schemas/output-text.js';
import { budgetOf, presenceMs } from '../model/budget.js';
import { updateObservations } from '../liveness-store.js';
import { nodeLiveness } from './node-liveness.js';
import { heartbeatRefProblem, readBeatRef } from './heartbeat.js';
import { ok, skip, warn, type Check } from './doctor-check.js';

/**
 * `gitbus doctor`'s heartbeat checks: `heartbeat.self` (this node's last beat by its commit time, against the lease
 * or, idle, the fleet's presence interval) and `heartbeat.others` (every other node as `status` judges it).
 */
export async function checkHeartbeats(repo: BusRepo, home: string, config: NodeConfig, refs: ReadonlyMap<string, string>, listedAt: number, snap: Snapshot | null): Promise<Check[]> {
  const out: Check[] = [];
  const leaseMs = snap?.settings.leaseMs ?? 5 * 60_000;
  const beat = refs.get(heartbeatRef(config.node));
  let selfRead: Awaited<ReturnType<typeof readBeatRef>>;
  if (!beat) {
    out.push(
      config.runners.length === 0 && !(config.env ?? []).some((e) => e.apply === 'auto')
        ? skip('heartbeat.self', 'no heartbeat: this node enables no runners, so it runs no watcher')
        : warn('heartbeat.self', `no heartbeat ref ${heartbeatRef(config.node)}: this node's watcher has not run`, 'start the watcher: "gitbus watch", or "gitbus service install" to run it as a service'),
    );
  } else if ((selfRead = await readBeatRef({ repo }, config.node)).notACommit !== undefined) {
    const p = heartbeatRefProblem(config.node, selfRead.notACommit);
    out.push(warn('heartbeat.self', `${p.path}: ${p.reason}`, p.fix));
  } else {
    const time = await commitTime(repo, beat);
    if (time === null) out.push(ok('heartbeat.self', `heartbeat at ${beat.slice(0, 12)} (its commit is not readable here, so its age is unknown)`));
    else {
      const age = Date.now() - time;
      // An idle watcher marks presence only every `presence` (bus/model/budget.ts): older than the lease is fine then.
      const idleMs = snap ? presenceMs(snap.settings, budgetOf(snap.settings, repo.localRemotePath() !== null), [...refs.keys()].filter((r) => r.startsWith(HEARTBEAT_PREFIX)).length) : 0;
      const text = `last heartbeat ${Math.round(age / 1000)} s ago (by its commit time; lease ${Math.round(leaseMs / 1000)} s${idleMs > leaseMs ? `, idle presence every ${Math.round(idleMs / 1000)} s` : ''})`;
      out.push(age > (idleMs > leaseMs ? idleMs + leaseMs : leaseMs) ? warn('heartbeat.self', `${text}: this node's watcher looks stopped`, 'start the watcher: "gitbus watch", or "gitbus service status" to see why the service stopped') : ok('heartbeat.self', text));
    }
  }
  if (!snap) {
    out.push(skip('heartbeat.others', 'the bus could not be read'));
    return out;
  }
  const observed = updateObservations(home, refs, listedAt, leaseMs);
  const carded = new Set((await snap.nodes()).map((n) => n.node));
  // A node that beats with no card left the bus (gitbus leave --force while its watcher ran) or lost its card. One
  // whose card trust sets aside is neither: it is judged with the others.
  const refNodes = cardlessNodes(refs, carded, snap.forged).filter((n) => n !== config.node);
  for (const n of setAsideCards(snap.forged)) carded.add(n);
  const others = [...carded, ...refNodes].filter((n) => n !== config.node).sort();
  // A node observed beating is read once: its beat, or a ref that holds no commit and so is no heartbeat (status says the same).
  const beats = new Map<string, Awaited<ReturnType<typeof readBeatRef>>>();
  for (const n of others) if (observed.nodes[n]) beats.set(n, await readBeatRef({ repo }, n));
  const notBeats = [...beats].flatMap(([n, r]) => (r.notACommit === undefined ? [] : [heartbeatRefProblem(n, r.notACommit)]));
  const obs = withoutNodes(observed, notBeats.map((p) => p.path.slice(HEARTBEAT_PREFIX.length)));
  const notBeatText = notBeats.length ? `; not counted as beating: ${notBeats.map((p) => `${p.path}: ${p.reason}`).join('; ')}` : '';
  const notBeatFix = notBeats.map((p) => p.fix);
  const cardless = refNodes.filter((n) => beats.get(n)?.notACommit === undefined);
  // Refs under the heartbeat prefix that name no node are ignored by every reader; said here, or nobody would know.
  const stray = strayHeartbeatRefs(refs);
  const strayText = stray.length ? `; ${stray.length} ref${stray.length === 1 ? '' : 's'} under ${HEARTBEAT_PREFIX} ${stray.length === 1 ? 'names' : 'name'} no node and ${stray.length === 1 ? 'is' : 'are'} ignored: ${stray.map((r) => visibleText(r)).join(', ')}` : '';
  const strayFix = stray.length ? [`gitbus never writes such a ref: delete ${stray.length === 1 ? 'it' : 'each'} from the remote with "git push <remote> --delete <ref>" (a name shown with <U+...> holds that character), and find who pushed it`] : [];
  if (others.length === 0) {
    const detail = `no other nodes on the bus${strayText}`;
    out.push(strayFix.length ? warn('heartbeat.others', detail, strayFix.join('; ')) : ok('heartbeat.others', detail));
    return out;
  }
  const by = { alive: [] as string[], idle: [] as string[], stopped: [] as string[], silent: [] as string[], unleased: [] as string[] };
  // As `status` shows them (bus/ops/node-liveness.ts): each node's own last beat says whether its watcher stopped
  // cleanly, and how often an idle node marks presence; two commands must not call one node alive and silent.
  const now = Date.now();
  // A node never observed beating has no beat to read (as status: a fetch per node would be wasted).
  for (const n of others) by[nodeLiveness(obs, n, obs.nodes[n] ? (beats.get(n)?.beat ?? null) : null, snap.settings, repo.localRemotePath() !== null, now).liveness].push(n);
  const named = (list: string[]) => (list.length ? ` (${list.join(', ')})` : '');
  const text = [
    `${by.alive.length} alive${named(by.alive)}`,
    ...(by.idle.length ? [`${by.idle.length} idle${named(by.idle)}`] : []),
    ...(by.stopped.length ? [`${by.stopped.length} stopped${named(by.stopped)}`] : []),
    `${by.silent.length} silent${named(by.silent)}`,
    `${by.unleased.length} without a watcher${named(by.unleased)}`,
  ].join(', ');
  const fixes = [
    ...(by.silent.length ? ['start the watcher on the silent nodes; their claimed tasks are reclaimed after the lease; a machine that is gone for good is taken off the bus with "gitbus leave --node NAME" once its claims are reclaimed'] : []),
    ...(cardless.length ? [`stop the watcher of ${cardless.join(', ')} and run "gitbus leave --node NAME" to remove the heartbeat, or restart that watcher to bring the node back (it publishes its card as it starts)`] : []),
    ...strayFix,
    ...notBeatFix,
  ];
  const detail = `${text}; judged by this node's observations (liveness.json)${cardless.length ? `; ${cardless.join(', ')} ${cardless.length === 1 ? 'beats' : 'beat'} with no card on main (taken off the bus while a watcher ran, or the card was removed)` : ''}${strayText}${notBeatText}`;
  out.push(fixes.length ? warn('heartbeat.others', detail, fixes.join('; ')) : ok('heartbeat.others', detail));
  return out;
}

/** A commit's committer time in ms, read from the clone (a node's own heartbeats are built there) or a local remote. */
async function commitTime(repo: BusRepo, oid: string): Promise<number | null> {
  const places = [repo.gitdir, repo.localRemotePath()].filter((p): p is string => p !== null);
  for (const gitdir of places) {
    try {
      const loose = await looseCommitTime(gitdir, oid);
      if (loose !== null) return loose;
      const { commit } = await (await isoGit()).readCommit({ fs, gitdir, oid, cache: repo.store.cache });
      return commit.committer.timestamp * 1000;
    } catch {
      // not there: try the next place
    }
  }
  return null;
}
