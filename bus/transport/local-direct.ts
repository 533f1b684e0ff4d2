import { fs } from '../node-fs.js';
import type { Stats } from 'node:fs';
import { isAlive } from '../lock.js';
import { mathRandomHex } from '../../schemas/math-random.js';
import { join } from 'node:path';
import { PushRejectedError } from '../git/push-errors.js';
import { writeLooseObject, writeObjectFile, type GitObjectType } from '../git/loose-object.js';
import { assertFullRef, assertOid, ZERO_OID } from '../git/oid.js';
import { readRefFromDisk } from './read-refs.js';
import { RemoteNotFoundError, RemoteNotWritableError } from './errors.js';
import { StaleLockJudge } from '../stale-lock.js';
import { removeFile } from '../remove-file.js';
import { opensReceiveOrExtensions, setsSharedHooksOrFsck } from './git-config-scan.js';
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
  await whileRemoteExists(remote, () => pushNow(remote, args, judge).catch((err: unknown) => {
    throw notWritable(remote, err) ?? err;
  }));
}

/** A write refused under the remote (read-only, permissions) as the remote's failure: REMOTE_NOT_WRITABLE. */
function notWritable(remote: string, err: unknown): RemoteNotWritableError | null {
  const e = err as NodeJS.ErrnoException;
  if (e === null || typeof e !== 'object' || (e.code !== 'EROFS' && e.code !== 'EACCES' && e.code !== 'EPERM')) return null;
  return new RemoteNotWritableError(remote, typeof e.path === 'string' ? e.path : remote, e.code);
}

async function pushNow(remote: string, args: Parameters<typeof directPush>[1], judge: StaleLockJudge): Promise<void> {
  const { ref, oldOid, newOid } = args;
  // A push decided from a main that has moved since is refused before anything is written: on a busy bus most lost
  // races are lost by then, and their objects would be files in the remote that nothing names. The check that
  // decides is the one under the lock, below.
  const before = (await readRefFromDisk(remote, ref)) ?? ZERO_OID;
  if (before !== oldOid) {
    // A remote gone since directPush looked reads as one without the ref: an outage, not a lost race.
    if (!fs.existsSync(joinPlain(remote, 'objects'))) throw new RemoteNotFoundError(remote);
    throw stale(ref, remote, `${ref} is at ${before} but expected ${oldOid}`);
  }
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
