import { lstat, readdir, readlink, realpath, stat } from '../node-fs-async.js';
import { NotRegularFileError, openRegular, readOpened } from '../read-at-most.js';
import type { Stats } from 'node:fs';
import { GitbusError, type FileProblem } from '../../schemas/errors.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { MAX_SIGNATURE_FILE } from '../trust/sshsig.js';
import { LintUnreadableError } from './lint-unreadable.js';
import { foldersAbove, foldersHeld, judgeListed, judgeOpened, NotInCheckoutError, pathIn, sameIdentity, type Checkout, type Identity, type Look } from './lint-place.js';

/**
 * How `gitbus lint PATH` reads what it looked at on disk (lint.ts): every file through one open judged by what it
 * found (readLooked), so that nothing put in a file's place after the look (a FIFO, a device, a link) is read or
 * waited on, and only where the checkout holds it (a folder on its path swapped for a link out of the checkout
 * after the look is not followed into: lint-place.ts); every folder listed only while it is the checkout's
 * (listLooked); and the problems of paths that are no regular file or not one any more.
 */

/** What lint found in a file's place instead of the file it looked at: never read, each the file's own problem. */
export type Unread = NotRegularFileError | NotInCheckoutError;

export const isUnread = (x: unknown): x is Unread => x instanceof NotRegularFileError || x instanceof NotInCheckoutError;

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
export function replaced(path: string, err: Unread): FileProblem {
  if (err instanceof NotInCheckoutError) return moved(path);
  if (err.what === GONE) return gone(path);
  return { path, field: '', reason: `it is not a regular file any more: ${err.what} took its place after lint looked at it, and it was not read`, fix: 'see what put it there (ls -l), then put the regular file back (git checkout restores a committed one) and lint again', severity: 'error' };
}

/**
 * A file lint opened somewhere other than where it looked at it: a folder on its path was replaced since (a link
 * there leads out of the checkout, whose files are all untrusted, and lint reads nothing outside it).
 */
function moved(path: string): FileProblem {
  return { path, field: '', reason: 'it is not where lint looked at it in the checkout any more: a folder on its path, or the file, was replaced after lint looked at it (a symbolic link there would lead out of the checkout), and it was not read', fix: 'see what is on its path (ls -ld each folder of it), put the checkout\'s folders back (git checkout restores committed ones) and lint again', severity: 'error' };
}

/** A folder that was something else (a link, another folder) at one of lint's looks around its listing: nothing listed is used. */
export function folderReplaced(path: string): FileProblem {
  return { path, field: '', reason: 'it is not the folder lint looked at any more: a symbolic link or another folder took its place while lint listed it, and nothing in it was read', fix: 'see what put it there (ls -ld), put the folder back (git checkout restores a committed one) and lint again', severity: 'error' };
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

/** `err` as lint's error for `path`, unless it says the path is not there (then undefined, for the caller to say so). */
function unlessGone(path: string, err: unknown): undefined {
  if (isGoneError(err)) return undefined;
  throw asUnreadable(path, err);
}

/**
 * A system call's failure as LintUnreadableError; anything else is left as it is: lint's own error (a look at a
 * folder above a file it reads, which names that folder), or no errno at all (a bug, to show as one).
 */
function asUnreadable(path: string, err: unknown): unknown {
  if (err instanceof GitbusError) return err;
  return typeof (err as NodeJS.ErrnoException | null)?.code === 'string' ? new LintUnreadableError(path, err) : err;
}

/**
 * The look (lstat) of a path lint must judge, found by a walk's listing or named by the checkout's layout
 * (gitbus.yaml, a live folder, signatures/, env/): undefined when it is not there (or gone since a listing: another
 * process, a checkout), for the caller to skip or report with `gone` and go on. Any other failure (EACCES, EIO) is
 * thrown as LintUnreadableError, as lint's reads throw it (readLooked): lint does not judge what it cannot see.
 */
export async function lookAt(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    return unlessGone(path, err);
  }
}

/** The checkout at `root` as lint finds it at its start: the place every file it reads must be in (lint-place.ts). */
export async function lookAtCheckout(root: string): Promise<Checkout> {
  try {
    const real = await realpath(root);
    const st = await stat(real);
    return { root, real, id: { dev: st.dev, ino: st.ino } };
  } catch (err) {
    throw isGoneError(err) ? err : asUnreadable(root, err);
  }
}

/** An entry of a folder lint listed, with its look: undefined when it was gone before lint looked at it. */
export interface ListedEntry {
  name: string;
  st: Stats | undefined;
}

/**
 * The entries of a folder a walk of lint looked at (`looked`), each looked at in turn, or the folder's problem: gone
 * when it is gone since the look (removed, renamed, a file in its place), replaced when a link or another folder was
 * there at a look just before the listing or at one after the looks at its entries (a listing, and looks, through a
 * link would be of a folder outside the checkout). Other failures of the listing or of a look are thrown as
 * LintUnreadableError while the folder is still the one looked at; once it is not, they are of whatever took its
 * place, and the folder's problem is returned instead. `max`: how many entries are looked at, `sorted` taking them
 * in name order.
 */
export async function listLooked(co: Checkout, rel: string, looked: Look | undefined, opts: { max?: number; sorted?: boolean } = {}): Promise<ListedEntry[] | FileProblem> {
  const path = pathIn(co, rel);
  const unlike = (verdict: ReturnType<typeof judgeListed>): FileProblem | undefined => (verdict === 'gone' ? gone(rel) : verdict === 'replaced' ? folderReplaced(rel) : undefined);
  const before = await lookAt(path);
  // Never listed through a link: what is outside the checkout is not even named.
  const early = unlike(judgeListed(looked, before, before));
  if (early) return early;
  // A link swapped in may lead where lint may not read (EACCES): that is the swap, the folder's problem, and lint
  // goes on; only a failure in the folder still looked at stops it.
  const failed = async (err: unknown): Promise<FileProblem> => {
    const swapped = unlike(judgeListed(looked, before, await lookAt(path)));
    if (swapped) return swapped;
    throw err;
  };
  let names: string[];
  try {
    names = await readdir(path);
  } catch (err) {
    if (isGoneError(err)) return gone(rel);
    return failed(asUnreadable(path, err));
  }
  if (opts.sorted) names.sort();
  const entries: ListedEntry[] = [];
  for (const name of names.slice(0, opts.max)) {
    let st: Stats | undefined;
    try {
      st = await lookAt(pathIn(co, `${rel}/${name}`));
    } catch (err) {
      return failed(err);
    }
    entries.push({ name, st });
  }
  return unlike(judgeListed(looked, before, await lookAt(path))) ?? entries;
}

/** Where the real path of an opened descriptor is read (Linux); elsewhere lint compares identities instead. */
export const PROC_FD = '/proc/self/fd';

const procAnswers = new Map<string, Promise<boolean>>();

/** Whether `procFd` names opened descriptors here: asked once a process, as /proc does not come and go. */
function hasProcFd(procFd: string): Promise<boolean> {
  let answer = procAnswers.get(procFd);
  if (!answer) procAnswers.set(procFd, (answer = stat(procFd).then((st) => st.isDirectory(), () => false)));
  return answer;
}

/** The looks at the checkout's root (stat: it may be given through a link) and each folder above `rel` (lstat). */
async function looksAbove(co: Checkout, rel: string): Promise<(Stats | undefined)[]> {
  const looks = [await stat(co.root).catch((err: unknown) => unlessGone(co.root, err))];
  for (const folder of foldersAbove(rel)) {
    const last = looks[looks.length - 1];
    // Past a link (or what is no folder) a look would be of what it leads to, outside the checkout: whether that may
    // be looked at (EACCES) is no failure of the checkout's. No look stands for it, which no folder is (foldersHeld).
    looks.push(last && last.isDirectory() && !last.isSymbolicLink() ? await lookAt(pathIn(co, folder)) : undefined);
  }
  return looks;
}

/** Whether the checkout's root and every folder above `rel` are, now, the checkout's folders (none a link). */
async function foldersStillHeld(co: Checkout, rel: string): Promise<boolean> {
  const now = await looksAbove(co, rel);
  return foldersHeld(co, now, now);
}

/**
 * The first `limit` bytes of a file lint has looked at (`rel` in the checkout, `looked` its look), judged by what its
 * one open found there rather than by the look: a FIFO (whose open or read could wait for ever), a device or a link
 * swapped in since the look is returned as the error, unread, for the caller to report with `replaced`; so is a file
 * reached through a folder of its path swapped for a link (O_NOFOLLOW guards only the last part). With /proc
 * (`procFd`, which a test may point where there is none), what was opened is judged by its real path before a byte
 * of it is read, whatever was swapped when; without, by its identity against the look and the folders above it
 * looked at before the open and after the read (lint-place.ts foldersHeld), its bytes dropped when they changed.
 */
export async function readLooked(co: Checkout, rel: string, looked: Identity, limit: number, procFd = PROC_FD): Promise<{ bytes: Uint8Array; more: boolean } | Unread> {
  const path = pathIn(co, rel);
  try {
    const proc = await hasProcFd(procFd);
    const before = proc ? [] : await looksAbove(co, rel);
    const fh = await openRegular(path);
    try {
      if (proc) {
        const opened = await readlink(`${procFd}/${fh.fd}`).catch(() => undefined);
        const where = opened === undefined ? 'elsewhere' : judgeOpened(co, rel, opened);
        if (where === 'gone') return new NotRegularFileError(path, GONE);
        return where === 'here' ? await readOpened(fh, limit) : new NotInCheckoutError(path);
      }
      if (!sameIdentity(await fh.stat(), looked)) return new NotInCheckoutError(path);
      const read = await readOpened(fh, limit);
      return foldersHeld(co, before, await looksAbove(co, rel)) ? read : new NotInCheckoutError(path);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof NotRegularFileError) return err;
    // Removed or renamed since the look (or a folder on its path): the file's problem, not an internal error.
    if (isGoneError(err)) return new NotRegularFileError(path, GONE);
    // Opened through a folder swapped for a link, a failure (EACCES) is of what the link leads to: the swap is the
    // file's problem. Only a file still where lint looked at it stops lint (LintUnreadableError).
    if (!(err instanceof GitbusError) && !(await foldersStillHeld(co, rel))) return new NotInCheckoutError(path);
    throw asUnreadable(path, err);
  }
}

/** A sidecar's bytes; one over the limit stands for a larger one, which sidecarProblems refuses by its length alone. */
export async function sidecarBytes(co: Checkout, rel: string, looked: Identity): Promise<Uint8Array | Unread> {
  const read = await readLooked(co, rel, looked, MAX_SIGNATURE_FILE);
  if (isUnread(read)) return read;
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
 * would for any file changed while it was checked. A path lint cannot look at is thrown (lookAt): taken for no
 * file, its sidecar would go unchecked and the checkout be reported clean.
 */
export async function regularBytes(co: Checkout, rel: string): Promise<Uint8Array | null | undefined | Unread> {
  const path = pathIn(co, rel);
  // A folder of its path that is a link is not looked through: whether anything is where it leads, and whether lint
  // may look there, would be said of a place outside the checkout (a file there, or an EACCES ending lint). The
  // file is reported as one a link took the place of a folder of, whatever is there; lintCheckout's walk reports
  // the link itself. A folder missing, or a file in its place, leaves nothing there.
  // A folder of the checkout lint may not look into: the look at the file fails too, and names the file.
  const above = await looksAbove(co, rel).catch((err: unknown) => (err instanceof LintUnreadableError ? null : Promise.reject(err)));
  if (above?.some((st) => st?.isSymbolicLink()) || (above?.[0] !== undefined && !sameIdentity(above[0], co.id))) return new NotInCheckoutError(path);
  if (above?.some((st) => st === undefined || !st.isDirectory())) return undefined;
  let st: Stats | undefined;
  try {
    st = await lookAt(path);
  } catch (err) {
    // A folder of its path swapped for a link since (one leading to itself: ELOOP): the failure is of what it leads to.
    if (above && err instanceof LintUnreadableError && !(await foldersStillHeld(co, rel))) return new NotInCheckoutError(path);
    throw err;
  }
  if (st === undefined) return undefined;
  if (!st.isFile()) return null;
  const read = await readLooked(co, rel, st, Math.max(st.size, MAX_FILE_BYTES));
  return isUnread(read) ? read : read.bytes;
}

export function modeOf(st: { isSymbolicLink(): boolean; isDirectory(): boolean; mode: number }): string {
  if (st.isSymbolicLink()) return '120000';
  if (st.isDirectory()) return '040000';
  return st.mode & 0o111 ? '100755' : '100644';
}
