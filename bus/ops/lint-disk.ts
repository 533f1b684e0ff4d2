import { lstat, readdir } from '../node-fs-async.js';
import { NotRegularFileError, readAtMost } from '../read-at-most.js';
import type { Stats } from 'node:fs';
import type { FileProblem } from '../../schemas/errors.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { MAX_SIGNATURE_FILE } from '../trust/sshsig.js';

/**
 * How `gitbus lint PATH` reads what it looked at on disk (lint.ts): every file through one open judged by what it
 * found (readLooked), so that nothing put in a file's place after the look (a FIFO, a device, a link) is read or
 * waited on, and the problems of paths that are no regular file or not one any more.
 */

/** A path on disk that is no folder, regular file or link (a FIFO, a device, a socket): git stores none, and a read of one may never end. */
export function notRegular(path: string): FileProblem {
  return { path, field: '', reason: 'it is not a regular file (a FIFO, a device or a socket), which git cannot store; gitbus reads only regular files', fix: 'remove it, or put a regular file there', severity: 'error' };
}

/** What readLooked says was found where a file it looked at was removed or renamed since. */
const GONE = 'nothing';

/**
 * A path that was a regular file when lint looked at it (lstat) and something else when lint opened it: another
 * process put it there in between. Its own problem, since what the look said of it no longer holds.
 */
export function replaced(path: string, err: NotRegularFileError): FileProblem {
  if (err.what === GONE) return gone(path);
  return { path, field: '', reason: `it is not a regular file any more: ${err.what} took its place after lint looked at it, and it was not read`, fix: 'see what put it there (ls -l), then put the regular file back (git checkout restores a committed one) and lint again', severity: 'error' };
}

/** A path lint found (in a folder's listing, or by a look) that was not there any more when lint went on to it. */
export function gone(path: string): FileProblem {
  return { path, field: '', reason: 'it is gone: it was removed or renamed after lint looked at it', fix: 'lint again once nothing is moving files in the checkout (a checkout, rebase or editor saving)', severity: 'error' };
}

/** An error that says a path is not there (any more): removed or renamed, or a folder on its path no longer one. */
function isGoneError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The look (lstat) of an entry a folder walk of lint listed: undefined when it is gone since the listing (another
 * process, a checkout), for the walk to report with `gone` and go on. Any other failure (EACCES, EIO) is thrown, as
 * lint's reads throw it (readLooked): lint does not judge what it cannot see.
 */
export async function lookListed(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if (isGoneError(err)) return undefined;
    throw err;
  }
}

/**
 * The names in a folder a walk of lint looked at: undefined when it is gone since the look (removed, renamed, or
 * something else put in its place), for the walk to report with `gone` and go on; other failures are thrown.
 */
export async function listLooked(path: string): Promise<string[] | undefined> {
  try {
    return await readdir(path);
  } catch (err) {
    if (isGoneError(err)) return undefined;
    throw err;
  }
}

/**
 * The first `limit` bytes of a file lint has looked at, judged by what its one open found there rather than by the
 * look: a FIFO (whose open or read could wait for ever), a device or a link (leading out of the checkout) swapped
 * in since the look is returned as the error, unread, for the caller to report with `replaced`.
 */
export async function readLooked(path: string, limit: number): Promise<{ bytes: Uint8Array; more: boolean } | NotRegularFileError> {
  try {
    return await readAtMost(path, limit, { regularOnly: true });
  } catch (err) {
    if (err instanceof NotRegularFileError) return err;
    // Removed or renamed since the look (or a folder on its path): the file's problem, not an internal error.
    if (isGoneError(err)) return new NotRegularFileError(path, GONE);
    throw err;
  }
}

/** A sidecar's bytes; one over the limit stands for a larger one, which sidecarProblems refuses by its length alone. */
export async function sidecarBytes(path: string): Promise<Uint8Array | NotRegularFileError> {
  const read = await readLooked(path, MAX_SIGNATURE_FILE);
  if (read instanceof NotRegularFileError) return read;
  return read.more ? new Uint8Array(MAX_SIGNATURE_FILE + 1) : read.bytes;
}

/** A path on disk that is neither a folder, a regular file nor a link: a FIFO, a device, a socket. */
export function isSpecial(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): boolean {
  return !st.isFile() && !st.isDirectory() && !st.isSymbolicLink();
}

/**
 * A regular file's bytes; null for anything else there (a link is never followed, a FIFO never read); undefined
 * when nothing is; the error when something else took its place after the look. A signed file is checked whole
 * whatever its size, as the look found it: bytes it gained since are not read, and its signature then fails as it
 * would for any file changed while it was checked.
 */
export async function regularBytes(path: string): Promise<Uint8Array | null | undefined | NotRegularFileError> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) return undefined;
  if (!st.isFile()) return null;
  const read = await readLooked(path, Math.max(st.size, MAX_FILE_BYTES));
  return read instanceof NotRegularFileError ? read : read.bytes;
}

export function modeOf(st: { isSymbolicLink(): boolean; isDirectory(): boolean; mode: number }): string {
  if (st.isSymbolicLink()) return '120000';
  if (st.isDirectory()) return '040000';
  return st.mode & 0o111 ? '100755' : '100644';
}
