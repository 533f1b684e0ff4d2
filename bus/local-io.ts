import { mathRandomHex } from '../schemas/math-random.js';
import { renameSync, rmSync, writeFileSync, type WriteFileOptions } from 'node:fs';
import { rename, rm, writeFile } from './node-fs-async.js';
import { dirname } from 'node:path';
import { GitbusError } from '../schemas/errors.js';

/**
 * Failures of this machine rather than of gitbus or of the bus: a full disk, a file system that refuses a write,
 * a damaged file in the bus home. Each names the path and what to do, and none is a bug.
 */
export class DiskFullError extends GitbusError {
  readonly code = 'DISK_FULL';
  constructor(path: string, syscall: string) {
    super(
      `no space left on the device holding ${path}`,
      `free space on that file system (df -h ${dirname(path)}) and run the command again; what was written before is intact`,
      { path, syscall },
    );
  }
}

export class LocalIoError extends GitbusError {
  readonly code = 'LOCAL_IO';
  constructor(path: string, syscall: string, errno: string, detail: string) {
    super(
      `could not ${syscall} ${path}: ${errno} (${detail})`,
      errno === 'EACCES' || errno === 'EPERM'
        ? `give this user write access to ${path} (the bus home must belong to the user running gitbus)`
        : errno === 'EROFS'
          ? `the file system holding ${path} is read-only: remount it writable or use another bus home (--home)`
          : `check the disk and file system holding ${path} (dmesg may say more), then run the command again`,
      { path, syscall, errno },
    );
  }
}

/**
 * An object of the node's clone that cannot be read (cut short, overwritten, deleted). The clone is a cache of
 * the remote: the store fetches such objects again (bus/clone-repair.ts) and throws this only when that failed.
 */
/** The folder the command was run in was removed (`process.cwd()` fails): nothing can be resolved against it. */
export class WorkingFolderGoneError extends GitbusError {
  readonly code = 'WORKING_FOLDER_GONE';
  constructor() {
    super('the folder this command was run in no longer exists (it was removed or moved after the shell entered it)', 'cd to a folder that exists (cd ~, or cd to the checkout again) and run the command again');
  }
}

export class CloneDamagedError extends GitbusError {
  readonly code = 'CLONE_DAMAGED';
  constructor(gitdir: string, oid: string, problem: string, why?: string) {
    super(
      `the node's clone ${gitdir} has a damaged object ${oid} (${problem})${why ? `, and fetching it again failed: ${why}` : ''}`,
      `gitbus fetches damaged objects again by itself while the remote is reachable ("gitbus doctor" checks them); if that keeps failing, move ${gitdir} aside and join the bus again in a fresh home (gitbus join URL --node NAME --home DIR)`,
      { gitdir, oid, problem, ...(why ? { why } : {}) },
    );
  }
}

/**
 * A git object in the node's clone, or the remote's, larger than gitbus reads whole: it is never inflated (a few
 * megabytes pushed can hold gigabytes of zeros), so nothing runs out of memory over it.
 */
export class ObjectTooLargeError extends GitbusError {
  readonly code = 'OBJECT_TOO_LARGE';
  constructor(gitdir: string, oid: string, size: number, max: number) {
    super(
      `the object ${oid} in ${gitdir} is ${size} bytes; gitbus reads objects of at most ${max} bytes`,
      `no file on the bus is that large legitimately: find it with "git log --all --source -1 --name-status --find-object=${oid}" in a clone of the remote (the branch, the commit and the file), and remove it from that branch in a new commit ("git rm", commit, push); gitbus reads the branches' current files only, so their history may keep it`,
      { gitdir, oid, size, max },
    );
  }
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);
const LOCAL = new Set(['EIO', 'EROFS', 'EACCES', 'EPERM', 'EMFILE', 'ENFILE', 'ENOTDIR', 'EISDIR', 'ELOOP', 'EFBIG']);

/**
 * The GitbusError for a failed file-system call (walking `cause` chains, as libraries wrap them), or null when
 * `err` is not one. Only system errors with a path count: a network EACCES has none.
 */
export function localFailure(err: unknown, where = 'the bus home'): GitbusError | null {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof GitbusError) return null;
    const { code, syscall, message } = e as { code?: unknown; syscall?: unknown; message?: unknown };
    // A write through a file descriptor (most of them) reports no path: then the caller's `where` stands in.
    const p = (e as { path?: unknown }).path;
    const path = typeof p === 'string' ? p : null;
    if (typeof code !== 'string') continue;
    if (syscall === 'uv_cwd') return new WorkingFolderGoneError();
    if (DISK_FULL.has(code)) return new DiskFullError(path ?? where, typeof syscall === 'string' ? syscall : 'write');
    if (path && LOCAL.has(code)) return new LocalIoError(path, typeof syscall === 'string' ? syscall : 'access', code, typeof message === 'string' ? message.split(':')[0] ?? code : code);
  }
  return null;
}

/** Whether `err` (or its cause) is a full disk or quota. */
export function isDiskFull(err: unknown): boolean {
  return localFailure(err)?.code === 'DISK_FULL';
}

/** `err` as the GitbusError of a local failure when it is one, else unchanged. `where`: the path to name when the error has none. */
export function asLocalFailure(err: unknown, where?: string): unknown {
  return localFailure(err, where) ?? err;
}

/**
 * Writes `path` through a temp file in the same folder and a rename, so a reader never sees half a file; when the
 * write fails (a full disk), the temp file is removed, not left behind.
 */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, tmp = `${path}.${process.pid}.tmp`, options?: WriteFileOptions): void {
  try {
    writeFileSync(tmp, data, options);
    renameSync(tmp, path);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // The original error is the one to report.
    }
    throw err;
  }
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, tmp = `${path}.${mathRandomHex(4)}.${process.pid}.tmp`): Promise<void> {
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
