import { ensureClone } from './clone-repair.js';
import { fs } from './node-fs.js';
import { openArchiveSource } from './archive/source.js';
import { fetchObjects } from './git/fetch.js';
import { FetchWantGoneError } from './git/fetch-errors.js';
import { pushRef, type RefUpdate } from './git/push.js';
import type { Transport } from './transport/transport.js';
import { LocalTransport } from './transport/local.js';
import { NotABusError } from './errors.js';
import { RemoteMainGoneError, RemoteMainRewoundError } from './remote-main-errors.js';
import { directAccessBlocker, directPush, whileRemoteExists } from './transport/local-direct.js';
import { afterDirectPush } from './transport/local-gc.js';
import { openStore, type BuiltCommit, type ObjectStore } from './store/objects.js';
import { deleteLocalRef, readLooseRef, writeLocalRef } from './store/local-ref.js';
import { isoGit } from './git/iso-git.js';
import { reaches } from './store/ancestry.js';
import { fetchSince, keepCut, reachesFetchingRest, type HistorySource } from './history-fetch.js';
import { PushRejectedError } from './git/push-errors.js';
import { markPushFailure } from './remote-failure.js';
import { looseHere, mayHavePackedObjects } from './store/object-presence.js';
import { lastContact, recordContact } from './remote-contact.js';

export const MAIN = 'refs/heads/main';
export const ARCHIVE = 'refs/heads/archive';
/** Commits looked through for a push whose answer was lost: the pushes of others that may have landed on it since. */
const LANDED_WALK = 1000;

/** A tip a sync fetched and did not write yet, and what the clone's file held then (BusRepo.deferred). */
export interface Deferred {
  readonly tip: string;
  readonly base: string | null;
}

/**
 * A node's clone of the bus: a gitdir without a work tree whose refs/heads/main mirrors the remote's main as
 * last seen. Nothing is ever committed to it that the remote has not accepted, so it needs no merging.
 *
 * Several processes of one node (the watcher, CLI commands) use one clone at the same time without a lock
 * around network I/O: fetched and built objects are written by atomic rename under their content's name, a
 * fetched pack is indexed in a private folder, and refs are replaced by atomic rename.
 */
export class BusRepo {
  readonly store: ObjectStore;
  private directCheck: Promise<string | null> | undefined;
  /** Every remote ref as of the last sync (heartbeat refs among them), read in the same listing. */
  lastRefs: ReadonlyMap<string, string> = new Map();
  /** When `lastRefs` was listed (this node's clock; 0 before the first listing): liveness counts from it. */
  listedAt = 0;
  /**
   * A reclone that failed on this machine waits before the next try (bus/clone-repair.ts ensureClone): set by the
   * watcher, which syncs at every wake; a person's calls (the MCP server, the web view) try at once.
   */
  recloneWaits = false;

  /** A direct push every this many starts `git gc --auto` in a local remote (transport/local-gc.ts). */
  private readonly gcEvery: number;

  constructor(
    readonly gitdir: string,
    readonly transport: Transport,
    options: { gcEvery?: number } = {},
  ) {
    this.store = openStore(gitdir);
    this.gcEvery = options.gcEvery ?? 100;
  }

  /**
   * Tips a sync fetched but has not written into the clone yet (`sync`'s `deferRef`), by ref, each with what the
   * clone's file held then: a transaction that pushes next writes its own commit there instead, which carries it, and
   * one that does not writes the tip at its end (`writeDeferredRef`), unless the file moved meanwhile (another process
   * of this node wrote a newer commit). Every read of the ref in this process sees the tip.
   */
  private readonly deferred = new Map<string, Deferred>();

  async localHead(ref = MAIN): Promise<string | null> {
    const d = this.deferred.get(ref);
    if (d !== undefined) return d.tip;
    return this.clonedHead(ref);
  }

  /** The ref as the clone's files hold it, whatever this process deferred. */
  private async clonedHead(ref: string): Promise<string | null> {
    try {
      const loose = readLooseRef(this.gitdir, ref);
      if (loose !== undefined) return loose;
      return await (await isoGit()).resolveRef({ fs, gitdir: this.gitdir, ref });
    } catch {
      return null;
    }
  }

  /**
   * The remote's `ref` from a fresh listing, or (`maxAgeMs`) from the last listing when it is at most that old:
   * a second question within one decision (the archive branch, asked about a dependency) costs no second round
   * trip to the remote.
   */
  async remoteHead(ref = MAIN, maxAgeMs = 0): Promise<string | null> {
    if (maxAgeMs > 0 && Date.now() - this.listedAt <= maxAgeMs) return this.lastRefs.get(ref) ?? null;
    this.lastRefs = await this.transport.listRefs();
    this.listedAt = Date.now();
    recordContact(this.gitdir);
    return this.lastRefs.get(ref) ?? null;
  }

  /**
   * The remote's `ref` alone, where the transport reads one ref for less than a listing (a local remote: its file,
   * not every heartbeat ref's); else from a fresh listing. `lastRefs` is left as it was: what only this ref is asked
   * for is not a listing of the others.
   */
  async remoteRef(ref: string): Promise<string | null> {
    if (!this.transport.readRef) return this.remoteHead(ref);
    const oid = await this.transport.readRef(ref);
    recordContact(this.gitdir);
    return oid;
  }

  /**
   * Brings the local copy of `ref` up to the remote's. Compares heads first and fetches only when the remote
   * moved, so an idle check costs one ref listing (for a local remote: a file read). `oneRef`: the caller reads
   * none of the other refs (`lastRefs`) after, so a local remote's `ref` is read alone (remoteRef).
   */
  async sync(ref = MAIN, opts: { maxAgeMs?: number; oneRef?: boolean; deferRef?: boolean } = {}): Promise<string | null> {
    // A clone deleted (or broken) under a long-lived process is cloned again, as a command's start does (openBus).
    await ensureClone(this.gitdir, this.transport, { waits: this.recloneWaits });
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.syncOnce(ref, attempt === 1 ? (opts.maxAgeMs ?? 0) : 0, opts.oneRef === true, opts.deferRef === true);
      } catch (err) {
        // The ref moved between the listing and the fetch (another process of this node, or another node, pushed):
        // list again and fetch what it is now.
        if (!(err instanceof FetchWantGoneError) || attempt >= 3) throw err;
      }
    }
  }

  private async syncOnce(ref: string, maxAgeMs: number, oneRef: boolean, deferRef: boolean): Promise<string | null> {
    // The local ref first: it only ever names what the remote accepted, so a listing made after it shows the same
    // commit or one that carries it, unless main was rewound (below). Read the other way round, a push by another
    // process of this node in between would look like a rewind.
    const local = await this.localHead(ref);
    const remote = oneRef ? await this.remoteRef(ref) : await this.remoteHead(ref, maxAgeMs);
    if (remote === local) return remote;
    if (remote === null) {
      // main never disappears from a bus; a remote without it is the wrong repository or a broken one, and
      // mirroring that would make every task look gone. Other refs (archive, heartbeats) may be absent.
      if (ref === MAIN) {
        if (local !== null) throw new RemoteMainGoneError(this.transport.display, this.gitdir, local);
        throw new NotABusError(this.transport.display, `it has no ${MAIN}`);
      }
      deleteLocalRef(this.gitdir, ref);
      this.deferred.delete(ref);
      return null;
    }
    let tip = remote;
    let cut: string[] = [];
    let source: HistorySource | undefined;
    if (ref === ARCHIVE) {
      // Never the archive's history, nor even its whole tip (100,000 finished tasks are 400,000 objects): the tip
      // commit and its root tree. Whoever reads further fetches the trees on its paths (bus/archive/source.ts), so
      // the local archive ref names a commit whose objects are here only where they were read.
      const source = await openArchiveSource(this, remote);
      try {
        await source.ensure([remote], 'tree:1');
      } finally {
        source.close?.();
      }
    } else if (!(await this.hasObject(remote))) {
      // Not the archive: this clone holds only the parts of it it read (bus/archive/source.ts). Main's history since
      // what this node last saw (bus/history-fetch.ts); a heartbeat's commit has none.
      const haves = [await this.localHead(MAIN)].filter((o): o is string => o !== null);
      source = await this.historySource();
      const fetched = await fetchSince(source, remote, ref, haves, ref === MAIN ? local : null);
      tip = fetched.tip;
      cut = fetched.cut;
    }
    const carried = ref !== MAIN || local === null || (await this.carries(tip, local));
    // The commits a bounded fetch left without their parents, once the way down was found: one kept before would
    // hide from the next walk what a failed fetch of the rest left out.
    if (carried && source && cut.length > 0) await keepCut(source, cut);
    if (!carried && local !== null) {
      // A listing kept from earlier may predate a push another process of this node made since: ask again.
      if (maxAgeMs > 0) return this.syncOnce(ref, 0, oneRef, deferRef);
      throw new RemoteMainRewoundError(this.transport.display, this.gitdir, local, tip);
    }
    if (ref === MAIN) this.mainMoves++;
    if (deferRef) {
      // Written by the push that follows, or at the transaction's end: a ref renamed over the clone's after a fetch
      // took ~1.7 ms (ext4 writes the new file's data out first), one a dispatch on a moving main paid each time.
      const d: Deferred = { tip, base: await this.clonedHead(ref) };
      this.deferred.set(ref, d);
      return tip;
    }
    writeLocalRef(this.gitdir, ref, tip);
    this.deferred.delete(ref);
    return tip;
  }

  /**
   * What a transaction's deferred sync of `ref` left (a token for writeDeferredRef): undefined when it deferred
   * nothing. Another sync of the ref in this process replaces it, and a push of the ref takes it.
   */
  deferredRef(ref: string): Deferred | undefined {
    return this.deferred.get(ref);
  }

  /**
   * Writes into the clone the tip of `token` (deferredRef), when it is still this process's deferral of `ref` (no
   * other sync replaced it, no push took it) and the clone's file still holds what it held at that sync: a newer
   * commit another process of this node wrote meanwhile is never put back.
   */
  async writeDeferredRef(ref: string, token: Deferred | undefined): Promise<void> {
    if (token === undefined || this.deferred.get(ref) !== token) return;
    this.deferred.delete(ref);
    if ((await this.clonedHead(ref)) === token.base) writeLocalRef(this.gitdir, ref, token.tip);
  }

  /** Rewinds found (`carries` said no), by tip and last seen: judged once, not at every poll while one lasts. */
  private readonly rewinds = new Set<string>();

  /**
   * Whether main's new tip carries the commit this node last saw, i.e. is a fast-forward of it (PROTOCOL.md §5:
   * nodes never rewind main; people push fast-forwards). A clone too far behind to tell within the walk's bound is
   * taken to be behind, not rewound.
   */
  private async carries(tip: string, lastSeen: string): Promise<boolean> {
    const key = `${tip} ${lastSeen}`;
    if (this.rewinds.has(key)) return false;
    if ((await reaches(this.gitdir, this.store.cache, tip, lastSeen)) !== false) return true;
    // Back to a commit this clone holds below what it last saw: rewound, with nothing to fetch to say so. Else the
    // history in between may be what a bounded fetch left out (bus/history-fetch.ts).
    if ((await reaches(this.gitdir, this.store.cache, lastSeen, tip)) !== true && (await reachesFetchingRest(await this.historySource(), tip, lastSeen))) return true;
    this.rewinds.add(key);
    return false;
  }

  /** What bus/history-fetch.ts needs to fetch main's history into the clone. */
  private async historySource(): Promise<HistorySource> {
    // Whether the clone may hold packs is asked once per fetch, not for each of its new objects.
    let packed: boolean | undefined;
    return {
      gitdir: this.gitdir,
      transport: this.transport,
      cache: this.store.cache,
      direct: await this.directRemote(),
      has: async (oid) => looseHere(this.gitdir, oid) || ((packed ??= mayHavePackedObjects(this.gitdir)) && (await this.hasPacked(oid))),
      kept: (oid, bytes) => this.store.rememberTreeBytes?.(oid, bytes),
    };
  }

  /**
   * Compare-and-swap: the remote's `ref` becomes `built` only if it still is `expected` (normally the commit's
   * parent; a heartbeat is a parentless commit replacing the previous one). Throws PushRejectedError.
   */
  async push(parent: string | null, built: BuiltCommit, ref = MAIN, expected: string | null = parent, also: readonly RefUpdate[] = []): Promise<void> {
    // Several refs at once go through git's receive-pack, whose ref transaction is all or none.
    const direct = also.length === 0 ? await this.directRemote() : null;
    try {
      if (direct !== null) {
        await whileRemoteExists(direct, () => directPush(direct, { ref, oldOid: expected ?? '0'.repeat(40), newOid: built.oid, objects: built.objects }));
        afterDirectPush(direct, this.gcEvery);
      } else {
        await pushRef({
          fs,
          gitdir: this.gitdir,
          cache: this.store.cache,
          transport: this.transport,
          ref,
          oldOid: expected ?? '0'.repeat(40),
          newOid: built.oid,
          oids: built.newOids,
          objects: built.objects,
          also,
        });
      }
    } catch (err) {
      // A refusal is the remote's answer. Any other failure may have come after the remote moved the ref (the
      // connection cut before its answer): then the change happened (PROTOCOL.md §5, step 5), and a caller that
      // took it for a failure would hand back a claim that is on the bus, never run.
      if (err instanceof PushRejectedError || !(await this.landed(ref, built.oid, expected))) throw markPushFailure(err);
    }
    writeLocalRef(this.gitdir, ref, built.oid);
    // The pushed commit carries what the sync fetched: the remote took it on top of what it then had.
    this.deferred.delete(ref);
    this.pushes++;
  }

  /**
   * Pushes the remote accepted in this process: a watcher whose pushes failed while listings worked (a token that
   * may read but not write) ends that outage only when this grows (watcher/remote-health.ts).
   */
  pushes = 0;

  /**
   * Syncs in this process that found main moved elsewhere than the clone held it (by other nodes, or by another process
   * of this node that did not write the clone's ref): an idle watcher tells a busy bus by them (watcher/wake-rounds.ts).
   */
  mainMoves = 0;

  /**
   * After a push whose answer never came: whether the remote's `ref` is now `oid`, or a commit that carries it
   * (another push already landed on top of it). One listing, and a fetch only when the ref moved elsewhere; a
   * failure of either is "cannot tell", which leaves the push's own failure standing.
   */
  private async landed(ref: string, oid: string, expected: string | null): Promise<boolean> {
    try {
      const now = await this.remoteHead(ref);
      if (now === oid) return true;
      // Still at the old value, or gone: the push did not land. A heartbeat (a commit without a parent replacing
      // the last) is never carried by another one.
      if (now === null || now === expected || ref !== MAIN) return false;
      const haves = [await this.localHead(MAIN)].filter((o): o is string => o !== null);
      const tip = (await this.hasObject(now)) ? now : (await fetchObjects({ fs, gitdir: this.gitdir, cache: this.store.cache, transport: this.transport, want: now, ref, haves, explodeBelow: Number.POSITIVE_INFINITY })).fetched;
      return (await reaches(this.gitdir, this.store.cache, tip, oid, LANDED_WALK)) === true;
    } catch {
      return false;
    }
  }

  /**
   * Moves other refs (`also`, each with its own compare-and-swap) while `ref` stays at `at`, all or none:
   * `ref` goes in the same receive-pack transaction from `at` to `at`, which only checks that it is still there.
   */
  async pushOthers(ref: string, at: string, also: readonly RefUpdate[]): Promise<void> {
    try {
      await pushRef({ fs, gitdir: this.gitdir, cache: this.store.cache, transport: this.transport, ref, oldOid: at, newOid: at, oids: [], objects: [], also });
    } catch (err) {
      throw markPushFailure(err);
    }
    this.pushes++;
  }

  /** When this node last heard from the remote (any process of it): bus/remote-contact.ts. */
  lastContact(): Date | null {
    return lastContact(this.gitdir);
  }

  /** The remote's path when it is on this machine's file system (to watch its refs), else null. */
  localRemotePath(): string | null {
    return this.transport instanceof LocalTransport ? this.transport.path : null;
  }

  /**
   * The remote's path when it is a local bare repo that may be written directly (transport/local-direct.ts):
   * no process is spawned on the hot path then. Checked once per process.
   */
  directRemote(): Promise<string | null> {
    const t = this.transport;
    if (!(t instanceof LocalTransport)) return Promise.resolve(null);
    this.directCheck ??= directAccessBlocker(t.path).then((blocker) => (blocker === null ? t.path : null));
    return this.directCheck;
  }

  /**
   * Brings the objects of several listed tips into the clone in one exchange with the remote (status reading the
   * heartbeats of the nodes that beat since it last looked: one request where each would have been one, against a
   * host's read budget). Best effort: whatever fails here, each ref's own sync fetches what is still missing. A
   * local remote gitbus may read directly has no exchange to save: its objects are copied one by one anyway.
   */
  async prefetch(oids: readonly string[]): Promise<void> {
    const missing: string[] = [];
    for (const oid of new Set(oids)) if (!(await this.hasObject(oid))) missing.push(oid);
    const [first, ...rest] = missing;
    if (first === undefined || rest.length === 0 || (await this.directRemote()) !== null) return;
    try {
      await fetchObjects({ fs, gitdir: this.gitdir, cache: this.store.cache, transport: this.transport, want: first, alsoWant: rest, haves: [], explodeBelow: Number.POSITIVE_INFINITY });
    } catch {
      // A tip that moved since the listing (a stateful SSH service refuses what it did not advertise), the remote
      // gone: each ref is fetched on its own as before.
    }
  }

  /** Whether the clone holds `oid` (loose or packed). */
  async hasObject(oid: string): Promise<boolean> {
    if (looseHere(this.gitdir, oid)) return true;
    // Not loose: it can only be in a pack. gitbus's clones keep none (fetched packs are exploded), so the usual
    // answer needs no isomorphic-git (issue 14: a `status` after another node's push would load it for nothing).
    return mayHavePackedObjects(this.gitdir) && this.hasPacked(oid);
  }

  /** Whether a pack of the clone (or its alternates) holds `oid`. */
  private async hasPacked(oid: string): Promise<boolean> {
    try {
      await (await isoGit()).readObject({ fs, gitdir: this.gitdir, oid, cache: this.store.cache, format: 'deflated' });
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
