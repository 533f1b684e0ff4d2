import { fs } from '../node-fs.js';
import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import { signaturePathFor } from '../../schemas/signature-layout.js';
import type { Release } from '../../schemas/release.js';
import { formatDuration } from '../../schemas/duration.js';
import { transact } from '../cas.js';
import type { BusContext } from '../context.js';
import { HeartbeatLeftError, NodeStillLiveError, UnknownNodeError } from '../errors.js';
import { NodeHoldsClaimsError, ResultsNotDeliveredError, RunStillGoesError } from '../give-back-errors.js';
import { AtomicPushUnsupportedError, PushFailedError, PushRejectedError } from '../git/push-errors.js';
import { pushRef } from '../git/push.js';
import type { Snapshot } from '../model/snapshot.js';
import { firstLine } from '../../schemas/errors.js';
import { ZERO_OID } from '../git/oid.js';
import { updateObservations } from '../liveness-store.js';
import { noteLeft } from '../left-home.js';
import { heartbeatRef } from '../model/liveness.js';
import { listFolder, type FileChange } from '../store/objects.js';
import { claimHolders } from './claim-holders.js';
import { readBeatRef } from './heartbeat.js';
import { nodeLiveness } from './node-liveness.js';
import { currentSnapshot } from './query.js';

export interface LeaveOptions {
  /** The node that leaves; this home's own when absent. */
  node?: string;
  /** This node's own claims are released in the same commit (else a node holding claims does not leave). */
  release?: boolean;
  /** Another node that still looks alive is removed all the same (its machine is gone, or will be). */
  force?: boolean;
  /**
   * This node's claims whose result is stored and not yet delivered (`<id>.<attempt>`, the watcher's outbox):
   * releasing one would throw its finished work away, so the node does not leave until they are delivered.
   */
  undelivered?: ReadonlySet<string>;
  /** This machine's runs that still go, by claim (`<id>.<attempt>`) -> process group: their claims are not released. */
  runsHere?: ReadonlyMap<string, number>;
  now?: Date;
}

export interface LeaveResult {
  node: string;
  /** Its card (`nodes/<node>.md`) was removed from main. */
  card: boolean;
  /** Its heartbeat ref was deleted. */
  heartbeat: boolean;
  /** The claims released in the same commit (`<id>.<attempt>`): this node's own, with `release`. */
  released: string[];
}

/**
 * A node leaves the bus (docs/PROTOCOL.md §3, "Leaving" under node cards): its card goes from main, with its
 * signature if it has one, in one commit decided from one snapshot, pushed together with the deletion of its
 * heartbeat ref (all or none, each with its own compare-and-swap), so that `status`, the claim ranking and the push
 * budget no longer count it. A host that cannot apply the two all or none gets them one after the other, the card
 * first. A node holding open claims does not leave: its own go back to the queue in that commit with `release`;
 * another node's must first be reclaimed, which takes its standing heartbeat (a node without one is a person's,
 * whose claims hold). Another node that may still run (alive or idle by this home's own watching, refuseLive) is not
 * removed without `force`. Nothing of the node's home is touched but a note, once its own card is gone, that it left
 * (bus/left-home.ts): its watcher refuses to start there until `gitbus join` brings it back.
 */
export async function leaveBus(ctx: BusContext, opts: LeaveOptions = {}): Promise<LeaveResult> {
  const node = opts.node ?? ctx.config.node;
  const self = node === ctx.config.node;
  const now = opts.now ?? new Date();
  /**
   * The heartbeat as liveness was judged from it: another node's beat that moves after that is a node running. Only
   * another node's liveness is judged (a node leaving itself, or with force, is not asked whether it runs), so only
   * then is the remote listed before the sync, which lists it again.
   */
  let judged: string | null = null;
  if (!self && !opts.force) {
    const refs = await ctx.repo.transport.listRefs();
    judged = refs.get(heartbeatRef(node)) ?? null;
    if (judged !== null) await refuseLive(ctx, node, refs, now);
  }

  const leave = (atomic: boolean) =>
    transact(ctx, `leave ${node}`, async (snap) => {
      // The heartbeat as of this round's listing (the sync lists every ref): its deletion goes in the same push
      // as the card's removal, all or none, so nobody claims as the node in between, and a node that beats again
      // meanwhile is seen in the next round instead of being left running without a card.
      const beatOid = ctx.repo.lastRefs.get(heartbeatRef(node)) ?? null;
      if (!self && !opts.force && beatOid !== null && beatOid !== judged) await refuseLive(ctx, node, ctx.repo.lastRefs, now);
      const { changes, card, released } = await decideLeave(snap, node, self, beatOid, opts, now);
      const alsoRefs = atomic && beatOid !== null ? [{ ref: heartbeatRef(node), oldOid: beatOid, newOid: ZERO_OID }] : [];
      const result = { card, released, beatOid };
      if (changes.length === 0 && alsoRefs.length === 0) return { result };
      return { result, commit: { changes, alsoRefs, message: `gitbus: node ${node} leaves the bus${released.length ? `, releasing ${released.join(', ')}` : ''}` } };
    });
  // This node's own home notes that it left once its card is gone: a watcher started there would bring it back.
  const noted = (r: { card: boolean }) => {
    if (self && r.card) noteLeft(ctx.paths.home, { node, remote: ctx.config.remote, at: now.toISOString() });
  };
  try {
    const r = await leave(true);
    noted(r);
    return { node, card: r.card, heartbeat: r.beatOid !== null, released: r.released };
  } catch (err) {
    // A refusal that is not a lost race, of the heartbeat's deletion (a host rule protecting refs/gitbus/): nothing
    // moved.
    if (err instanceof PushRejectedError && err.data['ref'] === heartbeatRef(node)) throw new HeartbeatLeftError(node, self, firstLine(err), 'refused', { card: false, released: [] });
    if (!(err instanceof AtomicPushUnsupportedError)) throw err;
  }
  // One after the other: the card, then the heartbeat with its own compare-and-swap against the value the card's
  // commit was decided with (a beat written meanwhile keeps it: the node still runs).
  const r = await leave(false);
  noted(r);
  const done = { card: r.card, released: r.released };
  if (r.beatOid !== null) {
    try {
      await pushRef({ fs, gitdir: ctx.repo.gitdir, cache: ctx.repo.store.cache, transport: ctx.repo.transport, ref: heartbeatRef(node), oldOid: r.beatOid, newOid: ZERO_OID, oids: [] });
    } catch (err) {
      if (!(err instanceof PushRejectedError || err instanceof PushFailedError)) throw err;
      const why = firstLine(err);
      if (err instanceof PushFailedError) throw new HeartbeatLeftError(node, self, why, 'failed', done);
      if (err.kind !== 'stale') throw new HeartbeatLeftError(node, self, why, 'refused', done);
      // Moved since: deleted by someone else (left already), or the node beat again.
      const now = await ctx.repo.transport.listRefs().catch(() => null);
      if (now === null || now.has(heartbeatRef(node))) throw new HeartbeatLeftError(node, self, why, 'beat', done);
    }
  }
  return { node, card: r.card, heartbeat: r.beatOid !== null, released: r.released };
}

/** What leaving changes on main as `snap` has it: the card, its signature, and this node's own claims with `release`. */
async function decideLeave(snap: Snapshot, node: string, self: boolean, beatOid: string | null, opts: LeaveOptions, now: Date): Promise<{ changes: FileChange[]; card: boolean; released: string[] }> {
  const held = [...((await claimHolders(snap)).get(node) ?? [])].sort();
  // The card and its signature as they are in the commit, not as this node trusts it: a card that trust sets
  // aside (forged, an unlisted node's) is still a file on main, which this removes too.
  const cardPath = pathFor({ kind: 'node', node });
  const sigPath = signaturePathFor(cardPath);
  const tree = snap.commit ? await snap.store.readCommitTree(snap.commit) : null;
  const inFolder = async (path: string) => tree !== null && (await listFolder(snap.store, tree, path.slice(0, path.lastIndexOf('/')))).some((e) => e.path === path.slice(path.lastIndexOf('/') + 1));
  const card = await inFolder(cardPath);
  const signed = await inFolder(sigPath);
  if (!card && !signed && beatOid === null && held.length === 0) throw new UnknownNodeError(node, [...snap.index.nodes.keys()], 'leave');
  // Another node's claims are reclaimed only while its heartbeat stands still past the lease (a node with no
  // heartbeat is a person's, whose claims hold): deleting it now would strand them.
  if (held.length > 0 && (!self || !opts.release)) throw new NodeHoldsClaimsError(node, held, self);
  const waiting = held.filter((k) => opts.undelivered?.has(k));
  if (waiting.length > 0) throw new ResultsNotDeliveredError(node, waiting);
  const going = held.flatMap((k) => {
    const pid = opts.runsHere?.get(k);
    return pid === undefined ? [] : [{ claim: k, pid }];
  });
  if (going.length > 0) throw new RunStillGoesError(going, 'leave');
  const changes: FileChange[] = [];
  if (card) changes.push({ path: cardPath, content: null });
  // A signed card's sidecar goes with it (nothing else would ever remove it).
  if (signed) changes.push({ path: sigPath, content: null });
  const released: string[] = [];
  if (self) {
    for (const key of held) {
      const dot = key.lastIndexOf('.');
      const id = key.slice(0, dot);
      const attempt = Number(key.slice(dot + 1));
      const data: Release = { id, attempt, node, released: now.toISOString(), reason: `node ${node} left the bus` };
      changes.push({ path: pathFor({ kind: 'release', id, attempt }), content: renderBusFile('release', data, '') });
      released.push(key);
    }
  }
  return { changes, card, released };
}

/**
 * Another node that may still run is not removed. Decided by this observer's clock alone (docs/PROTOCOL.md §5a): a
 * heartbeat value it has not itself watched stand still for longer than the lease (one it sees for the first time,
 * or one that moved since it last listed) counts as live, whatever the node's own `time` says, since a clock off by
 * more than the lease may mislead only the display, never a removal. What the beat says of itself that no clock
 * decides stands: `stopped` (its watcher said goodbye), and `every` (an idle node is live until that and a lease).
 */
async function refuseLive(ctx: BusContext, node: string, refs: ReadonlyMap<string, string>, now: Date): Promise<void> {
  const snapSettings = (await currentSnapshot(ctx)).settings;
  const at = now.getTime();
  const obs = updateObservations(ctx.paths.home, refs, at, snapSettings.leaseMs);
  const read = await readBeatRef(ctx, node);
  // A ref that holds no commit is no heartbeat (status and doctor say so): nothing there says the node lives.
  if (read.notACommit !== undefined) return;
  const beat = read.beat;
  const localRemote = ctx.repo.localRemotePath() !== null;
  // Without its `time`, a beat is as old as this observer has watched its value stand still (bus/model/liveness.ts beatWrittenAt).
  const watched = nodeLiveness(obs, node, beat && { ...beat, time: null }, snapSettings, localRemote, at);
  if (watched.liveness !== 'alive' && watched.liveness !== 'idle') return;
  const shown = nodeLiveness(obs, node, beat, snapSettings, localRemote, at);
  const lease = formatDuration(snapSettings.leaseMs);
  if (shown.liveness === 'alive' || shown.liveness === 'idle') throw new NodeStillLiveError(node, shown.liveness, shown.beatAt === null ? null : at - shown.beatAt, lease);
  // Dead by its own clock, not yet by this one: say what this home has seen, and that waiting settles it.
  const o = obs.nodes[node];
  const seen = !o ? 'first' : o.since < at ? 'still' : o.after === null ? 'first' : 'moved';
  throw new NodeStillLiveError(node, watched.liveness, shown.beatAt === null ? null : at - shown.beatAt, lease, { seen, stillMs: o ? Math.max(0, at - o.since) : 0 });
}
