import { PushRejectedError } from './git/push-errors.js';
import type { RefUpdate } from './git/push.js';
import { ContentionError, NotABusError, UnsupportedProtocolError } from './errors.js';
import { rootFacts } from './model/index-tree.js';
import { Snapshot } from './model/snapshot.js';
import { noteOwnClaims, readTrustedSnapshot, signNodeChanges } from './trust/node-files.js';
import { KNOWN_PROTOCOL } from './model/task-view.js';
import { buildCommit, type FileChange } from './store/objects.js';
import { MAIN, type Deferred } from './repo.js';
import type { BusContext } from './context.js';
import { classifyPath } from '../schemas/layout.js';
import { monotonicMs } from './monotonic.js';

/** What an operation decided from one snapshot: a result, and the commit that makes it true (if any). */
export interface Decision<T> {
  result: T;
  commit?: {
    changes: FileChange[];
    message: string;
    /** Other refs moved in the same push, each with its own compare-and-swap, all or none (a stale one is a lost race). */
    alsoRefs?: readonly RefUpdate[];
  };
}

export interface TransactOptions {
  ref?: string;
  /** Give up after this long of losing races. */
  deadlineMs?: number;
  /** Called after every lost race (for benchmarks and logs). */
  onRetry?: (attempt: number) => void;
  /**
   * A snapshot of `ref` already read (the watcher reads one per wake). The operation first decides from it,
   * without asking the remote; when that decision writes nothing, its result is the answer (or
   * its error is thrown) and no transaction runs. A decision with something to write runs the full loop below,
   * which syncs and decides again from the remote's current state, so writes keep their compare-and-swap (when
   * the sync finds main still at the peek's commit, the peek's decision is that state's and is pushed as it is).
   */
  peek?: Snapshot;
  /**
   * Called before each push of a decision that writes. The watcher beats here when its last beat is older than
   * the heartbeat, so a node waking from idle presence has a fresh beat on the remote before its claim lands.
   */
  beforeWrite?: () => Promise<void>;
  /**
   * Each round reads `ref` alone where that is cheaper than a listing (a local remote), and makes no listing: for a
   * transaction that takes nothing from one (`repo.lastRefs`, the heartbeats; `remoteHead`'s answers from a recent
   * listing), and reads any other ref it needs after `ref`, itself (a delivery's archive lookup: findArchived's
   * `fresh`). A dispatch's delivery, whose listing of every ref of a bus was a sixth of its push (issue 14).
   */
  oneRef?: boolean;
}

export interface TransactStats {
  /** Rounds of the compare-and-swap loop; 0 when a peek (TransactOptions.peek) showed nothing to write. */
  attempts: number;
  /** The commit that made the change, or null when the decision needed none. */
  commit: string | null;
}

/**
 * The compare-and-swap loop every state change goes through (docs/PROTOCOL.md §5): sync, decide from that
 * exact snapshot, commit on top of it, push without force. A rejected push means main moved: back off with
 * jitter and decide again from the new state. Never a rebase, never a force push.
 */
export async function transact<T>(ctx: BusContext, op: string, decide: (snap: Snapshot, attempt: number) => Promise<Decision<T>>, opts: TransactOptions = {}): Promise<T & TransactStats> {
  const ref = opts.ref ?? MAIN;
  /** The peek's decision, kept for the first round: when the sync finds main still at the peek's commit, it stands. */
  let peeked: { snap: Snapshot; decision: Decision<T> } | null = null;
  if (opts.peek) {
    const peek = opts.peek;
    checkProtocol(ctx, ref, peek);
    const looked = await decide(peek, 1);
    if (!looked.commit) return { ...looked.result, attempts: 0, commit: null };
    peeked = { snap: peek, decision: looked };
  }
  const deadline = monotonicMs() + (opts.deadlineMs ?? 120_000);
  const started = monotonicMs();
  /** What this transaction's last sync deferred (BusRepo.deferredRef). */
  let deferred: Deferred | undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      // No lock: objects are content-addressed, refs are replaced atomically, and the remote's compare-and-swap
      // decides between this node's own processes just as it does between nodes (docs/ARCHITECTURE.md).
      const outcome = await (async () => {
        // The fetched tip is not written into the clone before the push: the pushed commit is, which carries it.
        const head = await ctx.repo.sync(ref, { oneRef: opts.oneRef === true, deferRef: true });
        deferred = ctx.repo.deferredRef(ref);
        // The peek was read from this very commit (as this node trusts it): its decision is the one this round would
        // make, so deciding again only widens the window in which another push can move main under this one.
        const same = attempt === 1 && peeked !== null && ref === MAIN && head !== null && head === peeked.snap.commit ? peeked : null;
        // main is read as this node trusts it (forged node files out); other refs (the archive) as they are.
        const snap = same ? same.snap : ref === MAIN ? await readTrustedSnapshot(ctx, head) : await Snapshot.read(ctx.repo.store, head);
        checkProtocol(ctx, ref, snap);
        const decision = same ? same.decision : await decide(snap, attempt);
        if (!decision.commit) return { done: true as const, result: decision.result, commit: null };
        // Built without writing, until it is known the round may push it (below).
        const built = await buildCommit(ctx.repo.store, {
          parent: head,
          changes: await signNodeChanges(ctx, snap, decision.commit.changes),
          message: decision.commit.message,
          author: { name: ctx.config.node, email: `${ctx.config.node}@gitbus.invalid` },
          // A task's files on main are written once (PROTOCOL.md §1); only one this node ignores as forged is replaced
          // by the real one (PROTOCOL.md §12).
          ...(ref === MAIN ? { writeOnce: writtenOnce(snap) } : {}),
          deferWrites: true,
        });
        const also = decision.commit.alsoRefs ?? [];
        // Nothing changed (an idempotent step repeated): there is nothing to push, but the other refs, which move
        // only while `ref` is still the commit they were decided from.
        const unchanged = head !== null && built.tree === (await ctx.repo.store.readCommitTree(head));
        if (unchanged && also.length === 0) return { done: true as const, result: decision.result, commit: null };
        if (!unchanged) {
          // Lost already (another push landed while this one decided): the next round decides again, and nothing was
          // written that could never be pushed (a commit, its trees and blobs, in the clone and in the remote).
          if (await movedFrom(ctx, ref, head)) return { done: false as const };
          built.writeObjects?.();
        }
        await opts.beforeWrite?.();
        try {
          if (unchanged) await ctx.repo.pushOthers(ref, head, also);
          else await ctx.repo.push(head, built, ref, head, also);
          if (!unchanged && ref === MAIN) noteOwnClaims(ctx, snap, decision.commit.changes);
          return { done: true as const, result: decision.result, commit: unchanged ? null : built.oid };
        } catch (err) {
          if (err instanceof PushRejectedError && err.data['kind'] === 'stale') return { done: false as const };
          throw err;
        }
      })();
      if (outcome.done) return { ...outcome.result, attempts: attempt, commit: outcome.commit };
      opts.onRetry?.(attempt);
      // Time alone never gives up: over a slow link a few rounds may take a minute. Only losing again and again does.
      if (monotonicMs() >= deadline && attempt >= MIN_LOST_RACES) throw new ContentionError(op, attempt, Math.round(monotonicMs() - started));
      await sleep(backoff(attempt));
    }
  } finally {
    // What a round fetched and did not push over goes into the clone now (BusRepo.sync's deferRef), unless another
    // sync or push of this process, or another process, has written the ref since; a clone left behind it by a
    // failed write catches up at its next sync, which finds the objects here.
    try {
      await ctx.repo.writeDeferredRef(ref, deferred);
    } catch {
      // The next sync writes it.
    }
  }
}

/**
 * Whether the remote's `ref` is other than `head` already, where asking costs a file read (a remote written
 * directly); false elsewhere, and when the read fails: the push then says what is wrong.
 */
async function movedFrom(ctx: BusContext, ref: string, head: string | null): Promise<boolean> {
  if ((await ctx.repo.directRemote()) === null) return false;
  return (await ctx.repo.remoteRef(ref).catch(() => head)) !== head;
}

/** Lost races before a transaction past its deadline gives up (ContentionError). */
const MIN_LOST_RACES = 10;

function checkProtocol(ctx: BusContext, ref: string, snap: Snapshot): void {
  if (ref !== MAIN || !snap.commit) return;
  checkIsBus(ctx, snap);
  if (snap.settings.protocol > KNOWN_PROTOCOL) throw new UnsupportedProtocolError(snap.settings.protocol, KNOWN_PROTOCOL);
}

/**
 * A main without gitbus.yaml is not a bus (node.yaml's remote names a project's repository, or main was replaced
 * by other history): nothing is written on top of it, and nothing on it is run, as join already refuses it.
 */
export function checkIsBus(ctx: BusContext, snap: Snapshot): void {
  // The root's names say it: no folder is indexed for it (a claim of the next task looks up only a few).
  const root = rootFacts(snap.root);
  if (!snap.commit || root.settings) return;
  const main = `${MAIN} at ${snap.commit.slice(0, 12)}`;
  // One that is there but is no file was put there by someone who can push: said so, rather than sending the person
  // to check node.yaml's remote, which is right.
  if (root.problems.some((p) => p.path === 'gitbus.yaml')) {
    throw new NotABusError(
      ctx.repo.transport.display,
      `${main} has a gitbus.yaml that is not a regular file (a folder, a link or a submodule)`,
      'in a clone of the bus, remove it (git rm -r gitbus.yaml) and bring the file back from the commit before the one that replaced it (git log -- gitbus.yaml lists them; git checkout COMMIT~1 -- gitbus.yaml), then commit and push',
    );
  }
  throw new NotABusError(ctx.repo.transport.display, `${main} has no gitbus.yaml`, noSettingsFix(ctx.paths.config, ctx.repo.transport.display, snap.commit));
}

/**
 * The fix for a main without gitbus.yaml, for every place that says so (a command, the watcher, doctor, lint), in the
 * order of what is likely: node.yaml names another repository; the file was deleted by a commit (brought back by
 * another, nothing lost); main was replaced by other history (put back by a force-push, which drops what came since).
 */
export function noSettingsFix(config: string, remote: string, commit: string): string {
  return (
    `check remote: in ${config} (it must name the bus's repository, not a project's); if it does and a commit deleted gitbus.yaml, bring it back in a clone of the bus ` +
    `(git log --diff-filter=D -1 --format=%H -- gitbus.yaml names that commit C; git checkout C~1 -- gitbus.yaml, then commit and push); ` +
    `if main was replaced by other history, put it back (git push --force-with-lease=${MAIN}:${commit} ${remote} <the bus's last commit>:${MAIN}). Nothing is claimed or written until main has gitbus.yaml again`
  );
}

/** Full jitter: uniform in [0, min(1 s, 10 ms * 2^attempt)], so racing nodes spread out instead of colliding again. */
export function backoff(attempt: number): number {
  const cap = Math.min(1000, 10 * 2 ** Math.min(attempt, 10));
  return Math.random() * cap;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** handoffs/, claims/, releases/, cancels/, responses/ and deliveries/ files: never replaced once on main, but forged ones. */
function writtenOnce(snap: Snapshot): (path: string) => boolean {
  const forged = new Set(snap.forged.map((f) => f.path));
  return (path) => {
    const where = classifyPath(path);
    return where !== undefined && 'kind' in where && where.kind !== 'node' && where.kind !== 'settings' && !forged.has(path);
  };
}

