import { fs } from '../node-fs.js';
import type { Stats } from 'node:fs';
import { isAlive } from '../lock.js';
import { mathRandomHex } from '../../schemas/math-random.js';
import { join } from 'node:path';
import { inflateObject } from '../git/object-inflate.js';
import { storedMax } from '../git/object-deflate.js';
import { deflateStored } from '../git/zlib-stored.js';
import { PushRejectedError } from '../git/push-errors.js';
import { committedAt } from '../store/commit-time.js';
import { gitObjectId, writeLooseObject, writeObjectFile, type GitObjectType } from '../git/loose-object.js';
import { assertFullRef, assertOid, ZERO_OID } from '../git/oid.js';
import { readRefFromDisk } from './read-refs.js';
import { RemoteNotFoundError } from './errors.js';
import { StaleLockJudge } from '../stale-lock.js';
import { removeFile } from '../remove-file.js';
import { opensReceiveOrExtensions, setsSharedHooksOrFsck } from './git-config-scan.js';
import { ObjectTooLargeError } from '../local-io.js';
import { looseHeader, MAX_OBJECT_BYTES, readLoose } from '../store/loose-read.js';
import { decodeTree } from '../store/encode.js';
import { treeDiff } from '../store/tree-diff.js';
import type { TreeEntry } from '../store/objects.js';
import { objectFile } from '../git/object-path.js';
import { joinPlain } from '../join-plain.js';
import { osHostname } from '../../schemas/node-os.js';

/**
 * The spawn-free path for a bare remote on a local or shared file system: objects are copied as loose files and
 * the ref is moved with git's own lock protocol (`<ref>.lock` created exclusively, old value checked under the
 * lock, renamed into place), so it is the same compare-and-swap git's receive-pack performs, and it interleaves
 * safely with git processes pushing to the same repository.
 *
 * It is used only where nothing is lost by skipping receive-pack: no server-side hooks, no receive.* policy,
 * no shared-repository permissions, no repository extensions. Anything else goes through git's services.
 */

const HOOKS = ['pre-receive', 'update', 'post-receive', 'post-update', 'reference-transaction', 'proc-receive', 'push-to-checkout'];

/** Why direct access is not used for this remote, or null when it is safe. */
export async function directAccessBlocker(remote: string): Promise<string | null> {
  if (process.env['GITBUS_DIRECT'] === '0') return 'disabled by GITBUS_DIRECT=0';
  for (const hook of HOOKS) {
    if (fs.existsSync(joinPlain(joinPlain(remote, 'hooks'), hook))) return `the remote has a ${hook} hook`;
  }
  let config: string;
  try {
    // At once, not on libuv's thread pool (see checkBareRepo in local.ts).
    config = fs.readFileSync(joinPlain(remote, 'config'), 'utf8').toLowerCase();
  } catch {
    return 'the remote has no readable config';
  }
  if (opensReceiveOrExtensions(config)) return 'the remote sets receive.* or extensions.* options';
  if (setsSharedHooksOrFsck(config)) return 'the remote sets sharedRepository, hooksPath or fsckObjects';
  try {
    fs.accessSync(joinPlain(remote, 'objects'), fs.constants.W_OK);
    fs.accessSync(joinPlain(joinPlain(remote, 'refs'), 'heads'), fs.constants.W_OK);
  } catch {
    return 'the remote is not writable by this user';
  }
  return null;
}

/**
 * Runs a direct fetch or push. A remote that disappears in the middle of one (unmounted, renamed) fails deep in a
 * file operation with ENOENT; that is reported as the remote being gone, as every transport reports it, so the
 * watcher treats it as an outage rather than a bug. Other errors pass through.
 */
export async function whileRemoteExists<T>(remote: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(join(remote, 'objects'))) throw new RemoteNotFoundError(remote);
    throw err;
  }
}

/**
 * A ref lock that stays exactly as it is for this long, by this process's own clock, was left by a process that
 * died mid-update: a direct push holds it for microseconds, git's receive-pack and pack-refs for milliseconds.
 * The file's mtime is never compared with this machine's clock (on a shared mount it is the server's).
 */
const STALE_LOCK_MS = 10_000;
const staleLocks = new StaleLockJudge(STALE_LOCK_MS);

export async function directPush(
  remote: string,
  args: { ref: string; oldOid: string; newOid: string; objects: readonly { type: GitObjectType; content: Uint8Array; loose?: { oid: string; deflated: Uint8Array } }[] },
  judge: StaleLockJudge = staleLocks,
): Promise<void> {
  const { ref, oldOid, newOid } = args;
  assertFullRef(ref);
  assertOid(oldOid, 'old object id');
  assertOid(newOid, 'new object id');
  // Never create a repository by accident: a remote that vanished (unmounted, renamed) is an error. Below, only
  // folders whose parent must already be there are made, so one that vanishes after this check is an ENOENT, which
  // whileRemoteExists reports as the remote being gone.
  if (!fs.existsSync(joinPlain(remote, 'objects')) || !fs.existsSync(joinPlain(remote, 'HEAD'))) throw new RemoteNotFoundError(remote);
  await whileRemoteExists(remote, () => pushNow(remote, args, judge));
}

async function pushNow(remote: string, args: Parameters<typeof directPush>[1], judge: StaleLockJudge): Promise<void> {
  const { ref, oldOid, newOid } = args;
  // Objects first: once the ref moves, everything it names must already be there.
  for (const o of args.objects) {
    if (o.loose) writeObjectFile(fs, remote, o.loose.oid, o.loose.deflated);
    else await writeLooseObject(fs, remote, o.type, o.content);
  }
  const refPath = join(remote, ...ref.split('/'));
  const lockPath = `${refPath}.lock`;
  // Synchronous: the lock is held for a few file operations, and sync calls are several times faster here.
  makeRefFolders(remote, ref);
  const mark = takeRefLock(remote, lockPath, `${newOid}\n`);
  if (mark === null) {
    // The compare-and-swap loop retries; each retry looks again. A lock whose holder is known dead is broken at
    // once; any other is broken after it stayed unchanged for STALE_LOCK_MS.
    if (deadHolder(remote, lockPath) || judge.isStale(lockPath)) removeFile(lockPath);
    throw stale(ref, remote, `${ref} is being updated by another process (lock ${lockPath})`);
  }
  let renamed = false;
  try {
    const current = (await readRefFromDisk(remote, ref)) ?? ZERO_OID;
    if (current !== oldOid) throw stale(ref, remote, `${ref} is at ${current} but expected ${oldOid}`);
    fs.renameSync(lockPath, refPath);
    renamed = true;
  } finally {
    if (!renamed) removeFile(lockPath);
    if (mark) removeFile(mark);
  }
}

/**
 * The folders of `ref` below `refs/` (`refs/gitbus/heartbeats/` for a heartbeat), each made only where its parent
 * is: `refs/` itself never is, so a remote that vanished is not recreated at its old path (an ENOENT instead).
 */
function makeRefFolders(remote: string, ref: string): void {
  if (fs.existsSync(join(remote, ...ref.split('/').slice(0, -1)))) return; // the usual case: one system call
  let dir = join(remote, 'refs');
  for (const part of ref.split('/').slice(1, -1)) {
    dir = join(dir, part);
    try {
      fs.mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * A ref lock's holder must be known when it is killed while holding it (kill -9, a crash, a power cut): else every
 * later push waits STALE_LOCK_MS for it. The lock's content cannot name it (git reads it as the ref's new value),
 * so the lock is made as a hard link to a mark file in the remote's top folder, written first, whose name holds
 * this host and pid: linking is as exclusive as git's O_EXCL create, and the lock has its full content from the
 * moment it exists. Returns the mark's path (to remove after), '' when the file system has no hard links and
 * a plain exclusive create was used, or null when the lock is held.
 */
function takeRefLock(remote: string, lockPath: string, content: string): string | null {
  const mark = join(remote, `${MARK_PREFIX}${process.pid}.${mathRandomHex(4)}.${hostHex()}`);
  try {
    fs.writeFileSync(mark, content, { mode: 0o644 });
    fs.linkSync(mark, lockPath);
    return mark;
  } catch (err) {
    removeFile(mark);
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    // No hard links here (some network file systems) or the top folder is not writable: git's plain protocol.
  }
  let fd: number;
  try {
    fd = fs.openSync(lockPath, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  }
  try {
    fs.writeSync(fd, content);
  } catch (err) {
    fs.closeSync(fd);
    removeFile(lockPath);
    throw err;
  }
  fs.closeSync(fd);
  return '';
}

const MARK_PREFIX = 'gitbus-reflock.';
const MARK_RE = /^gitbus-reflock\.(\d+)\.[0-9a-f]+\.([0-9a-f]+)$/;
// This host's name, as a lock's mark carries it: looked up when a lock is taken or judged, not by every
// command that imports this module (schemas/node-os.ts).
let hostHexOnce: string | undefined;
const hostHex = (): string => (hostHexOnce ??= Buffer.from(osHostname()).toString('hex'));

/**
 * Whether `lockPath` was taken by a gitbus process of this host that is no longer running (its mark, the lock's
 * other name, says which). Marks of this host's dead processes are removed on the way: a process killed between
 * writing its mark and removing it leaves one behind.
 */
function deadHolder(remote: string, lockPath: string): boolean {
  let lock: Stats;
  try {
    lock = fs.statSync(lockPath);
  } catch {
    return false;
  }
  let dead = false;
  for (const m of deadMarks(remote)) {
    if (m.ino === lock.ino && m.dev === lock.dev && lock.nlink >= 2) dead = true;
    removeFile(m.path);
  }
  return dead;
}

function deadMarks(remote: string): { path: string; ino: number; dev: number }[] {
  let names: string[];
  try {
    names = fs.readdirSync(remote).filter((n) => n.startsWith(MARK_PREFIX));
  } catch {
    return [];
  }
  const out: { path: string; ino: number; dev: number }[] = [];
  for (const name of names) {
    const m = MARK_RE.exec(name);
    if (!m || m[2] !== hostHex() || isAlive(Number(m[1]))) continue;
    try {
      const st = fs.statSync(join(remote, name));
      out.push({ path: join(remote, name), ino: st.ino, dev: st.dev });
    } catch {
      // Removed meanwhile by its owner or another process.
    }
  }
  return out;
}

/** Removes the marks of this host's dead processes (a cheap moment: transport/local-gc.ts). */
export function sweepRefLockMarks(remote: string): number {
  const dead = deadMarks(remote);
  for (const m of dead) removeFile(m.path);
  return dead.length;
}


function stale(ref: string, remote: string, reason: string): PushRejectedError {
  return new PushRejectedError({ ref, kind: 'stale', reason, remote, messages: '' });
}

/**
 * How much history a fetch brings (git's `--shallow-since`): no commit committed before `since` (Unix seconds) is
 * copied; `cut` receives the commits whose parents were left out for it, which the caller names in the clone's
 * shallow list once it knows the history it got will do.
 */
export interface HistorySince {
  /** Asked only when a commit's parent is new to the clone: a fetch of one commit on top of the clone's needs none. */
  since: () => Promise<number | undefined>;
  cut: string[];
}

/**
 * Copies the objects of `want` and its new ancestors from the remote's loose objects. Returns false, having
 * changed nothing that matters, when an object is not loose there (the remote was repacked): the caller then
 * fetches through upload-pack. Objects are written children first, so an object present locally is complete.
 *
 * Each new tree is compared with the same folder in the commit before it (its first parent), when the clone holds
 * that folder as a loose object, by their bytes (store/tree-diff.ts): an entry alike there is in the clone already,
 * complete, and is not asked about. A bus keeps its live tasks side by side in one folder, so asking about every
 * entry of a changed folder cost a file system check per live task for every commit fetched (issue 14: "no command
 * may cost more as the bus grows"). `kept` is told each new tree with its bytes: the snapshot of the new commit
 * need not read them again, and decodes only what it reads (a derived status: the entries of a few tasks).
 */
export async function directFetch(remote: string, local: string, want: string, has: (oid: string) => Promise<boolean>, kept?: (oid: string, bytes: Buffer) => void, history?: HistorySince): Promise<boolean> {
  // The new commits, found newest first by following parents until known ones; written oldest first, so a
  // commit is only ever present together with its history.
  const chain: { oid: string; raw: Buffer; tree: string; parent: string | null }[] = [];
  const seen = new Set<string>();
  const stack = [want];
  // Commits read to see their time (history.since), kept for when the walk reaches them.
  const read = new Map<string, ReturnType<typeof readObject>>();
  const readCommit = (oid: string) => (read.has(oid) ? read.get(oid) : readObject(remote, oid)) ?? null;
  while (stack.length > 0) {
    const oid = stack.pop() as string;
    if (seen.has(oid) || (await has(oid))) continue;
    seen.add(oid);
    const obj = readCommit(oid);
    if (!obj || obj.type !== 'commit') return false;
    const head = obj.content.toString('latin1', 0, Math.min(obj.content.length, 4096));
    const tree = /^tree ([0-9a-f]{40})/m.exec(head)?.[1];
    if (!tree) return false;
    const parents = [...head.matchAll(/^parent ([0-9a-f]{40})/gm)].map((m) => m[1] as string);
    chain.push({ oid, raw: obj.raw, tree, parent: parents[0] ?? null });
    let cut = false;
    for (const p of parents) {
      if (history && !seen.has(p) && !(await has(p))) {
        const parent = readCommit(p);
        read.set(p, parent);
        const at = parent?.type === 'commit' ? committedAt(parent.content) : null;
        const since = at === null ? undefined : await history.since();
        if (at !== null && since !== undefined && at < since) {
          cut = true;
          continue;
        }
      }
      stack.push(p);
    }
    if (cut) history?.cut.push(oid);
  }
  const done = new Set<string>();
  /** Trees copied here, by id: the base of the next commit's folders. */
  const trees = new Map<string, Buffer>();
  const copyTree = async (oid: string, blob = false, base: string | null = null): Promise<boolean> => {
    if (done.has(oid)) return true;
    if (await has(oid)) {
      // Asked once: the next commit's tree names most of the same objects.
      done.add(oid);
      return true;
    }
    if (blob) {
      // Copied as the remote stores it, never inflated: a blob of gigabytes of zeros is a few megabytes on disk, and
      // whoever reads it later reads it with a cap (bus/store/loose-read.ts).
      const raw = readRaw(remote, oid);
      if (!raw) return false;
      writeObjectFile(fs, local, oid, raw);
      done.add(oid);
      return true;
    }
    const obj = readObject(remote, oid);
    if (!obj) return false;
    if (obj.type === 'tree') {
      // Only what the base does not hold as it is: the trees' bytes compared (tree-diff.ts), or, when they cannot be
      // walked by name, every entry asked about. Only then is the whole tree decoded.
      const baseBytes = base === null ? null : (trees.get(base) ?? (await localTree(local, base)));
      const differ = baseBytes === null ? null : treeDiff(baseBytes, obj.content);
      let entries: TreeEntry[] | undefined = differ?.after;
      if (!entries) {
        try {
          entries = decodeTree(obj.content);
        } catch {
          return false; // not a tree's encoding, though it hashes to its name: upload-pack says what is wrong
        }
      }
      kept?.(oid, obj.content);
      for (const e of entries) {
        // Submodule entries name commits of other repositories; there is nothing to copy.
        if (e.type === 'commit') continue;
        // A folder changed in place is compared with its earlier self. Only an object the base holds is in the
        // clone: a submodule entry's id is not, whatever it names, and an entry of another kind (a folder where a
        // file was) is not what the base's completeness speaks for.
        const was = e.type === 'tree' ? differ?.before.find((b) => b.path === e.path && b.type === 'tree') : undefined;
        if (!(await copyTree(e.oid, e.type === 'blob', was ? was.oid : null))) return false;
      }
      trees.set(oid, obj.content);
    }
    writeObjectFile(fs, local, oid, obj.raw);
    done.add(oid);
    return true;
  };
  const treeOf = new Map(chain.map((c) => [c.oid, c.tree]));
  for (const commit of chain.reverse()) {
    const parentTree = commit.parent === null ? null : (treeOf.get(commit.parent) ?? (await localCommitTree(local, commit.parent)));
    if (!(await copyTree(commit.tree, false, parentTree))) return false;
    writeObjectFile(fs, local, commit.oid, commit.raw);
  }
  return true;
}

/** A tree of the clone, when it is a loose object there (a clone's first pack, from join, is not read here). */
async function localTree(local: string, oid: string): Promise<Buffer | null> {
  const obj = await readLocal(local, oid);
  return obj?.type === 'tree' ? obj.content : null;
}

/** The tree of a commit of the clone, when the commit is a loose object there. */
async function localCommitTree(local: string, oid: string): Promise<string | null> {
  const obj = await readLocal(local, oid);
  if (obj?.type !== 'commit') return null;
  return /^tree ([0-9a-f]{40})/.exec(obj.content.toString('latin1', 0, 46))?.[1] ?? null;
}

/** An object of the clone, read as the clone's readers read it (its name is not hashed again: the clone wrote it). */
async function readLocal(local: string, oid: string): Promise<{ type: string; content: Buffer } | null> {
  try {
    return await readLoose(local, oid);
  } catch {
    return null; // damaged or too large: no base, which only costs the checks the base would have saved
  }
}

/**
 * A commit or tree of the remote, inflated to be walked, with the file's bytes as the remote stores them: those are
 * what the clone gets (deflating them again cost a watcher woken by every push of a busy bus a third of its CPU,
 * issue 14), but for one git compressed, which gets the stored stream gitbus writes (a copy, no deflate). Null, as for an object that is not loose there, when the file is not git's encoding of what its name
 * says: the caller then fetches through git, which says what is wrong, rather than a damaged object entering the
 * clone. The content's hash alone does not show that: the bytes copied are the file's, so a header that misstates
 * the size (the clone's reader calls that damaged) or bytes after the stream (git does) would be copied with it.
 */
function readObject(gitdir: string, oid: string): { type: GitObjectType; content: Buffer; raw: Buffer } | null {
  const raw = readRaw(gitdir, oid);
  if (!raw) return null;
  // A commit or tree is small; one that claims more is refused by name before anything is inflated.
  const h = looseHeader(raw);
  if (!h) return null;
  if (h.size > MAX_OBJECT_BYTES) throw new ObjectTooLargeError(gitdir, oid, h.size, MAX_OBJECT_BYTES);
  let data: Buffer;
  let consumed: number;
  let stored: boolean;
  try {
    // `used`: how much of the file the stream took, to tell bytes after it.
    ({ data, used: consumed, stored } = inflateObject(raw, h.size + h.headerBytes));
  } catch {
    return null; // cut short, or more content than its header says
  }
  if (consumed !== raw.length || data.length !== h.size + h.headerBytes) return null;
  const type = h.type as GitObjectType;
  const content = data.subarray(h.headerBytes);
  if (!data.subarray(0, h.headerBytes).equals(Buffer.from(`${type} ${content.length}\0`, 'latin1'))) return null; // "tree 012": not git's
  if (gitObjectId(type, content) !== oid) return null;
  // A commit or tree git compressed (a node that pushes through git's services, over SSH or HTTP) goes into the
  // clone stored, as gitbus writes its own: every later command reads it, and would load node:zlib to (issue 14).
  const kept = stored || data.length > storedMax(type) ? raw : deflateStored(data);
  return { type, content, raw: kept };
}


function readRaw(gitdir: string, oid: string): Buffer | null {
  try {
    return fs.readFileSync(objectFile(gitdir, oid));
  } catch {
    return null;
  }
}
