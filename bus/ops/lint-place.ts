import { join } from 'node:path';
import { GitbusError } from '../../schemas/errors.js';

/**
 * Whether what `gitbus lint PATH` opened or listed is really in the checkout it walks, as it looked at it. Pure: the
 * looks are taken by lint-disk.ts. A look (lstat) is only a look: a folder of the checkout can be swapped for a link
 * out of it before the read, and O_NOFOLLOW guards only a path's last part, so what was opened or listed is judged
 * afterwards by where it really is.
 */

/** A file's identity on its file system, as lstat or fstat gives it. */
export interface Identity {
  dev: number;
  ino: number;
}

/** A look (lstat; stat for the checkout's root, which may be given through a link), as far as these checks use it. */
export interface Look extends Identity {
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** The checkout lint walks, as it found it at its start: every file it reads must be there. */
export interface Checkout {
  /** As given: the walks join their paths to it, so that what they name is what the user named. */
  root: string;
  /** Its real path (realpath(3)), taken once, against which the real path of each opened file is judged. */
  real: string;
  /** Its identity then, for where the real path of an opened file cannot be had (no /proc). */
  id: Identity;
}

/**
 * A file lint opened that is not where it looked at it: a folder on its path (or, where only identities can be
 * compared, the file itself) was replaced since, perhaps by a link out of the checkout. Never read, never thrown out
 * of lint: returned for lint to report as the file's problem (lint-disk.ts `replaced`).
 */
export class NotInCheckoutError extends GitbusError {
  readonly code = 'NOT_IN_CHECKOUT';
  constructor(path: string) {
    super(`${path} is not where lint looked at it in the checkout: a folder on its path, or the file, was replaced since, and it was not read`, 'put back what the checkout holds there (git checkout restores a committed file) and lint again', { path });
  }
}

export const sameIdentity = (a: Identity, b: Identity): boolean => a.dev === b.dev && a.ino === b.ino;

/** The absolute path of `rel` (`/`-separated, as lint names paths) in the checkout as given. */
export const pathIn = (co: Checkout, rel: string): string => join(co.root, ...rel.split('/'));

/** The folders between the checkout's root and `rel`, from the top: `env/p1/files/rc` has env, env/p1, env/p1/files. */
export function foldersAbove(rel: string): string[] {
  const parts = rel.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * Where a file lint opened is, from its real path (Linux's /proc/self/fd/N, the kernel's name for what the
 * descriptor holds, whatever links the open went through): `here` only at `rel` under the checkout's real path.
 */
export function judgeOpened(co: Checkout, rel: string, opened: string): 'here' | 'gone' | 'elsewhere' {
  const expected = join(co.real, ...rel.split('/'));
  if (opened === expected) return 'here';
  // Linux names a file removed since its open by its last path and this mark: that path was the checkout's.
  if (opened === `${expected} (deleted)`) return 'gone';
  return 'elsewhere';
}

/**
 * Where the real path of an opened file cannot be had: the root (stat) and each folder above the file (lstat) looked
 * at before its open and after its read must be the same folders, none a link, the root the one lint started from.
 * `undefined`: nothing was there. A link swapped in and back between two looks is not seen; the caller also compares
 * the opened file with the look that found it.
 */
export function foldersHeld(co: Checkout, before: readonly (Look | undefined)[], after: readonly (Look | undefined)[]): boolean {
  const first = before[0];
  if (!first || !sameIdentity(first, co.id) || before.length !== after.length) return false;
  return before.every((b, i) => {
    const a = after[i];
    return b !== undefined && a !== undefined && isFolder(b) && isFolder(a) && sameIdentity(a, b);
  });
}

const isFolder = (st: Look): boolean => st.isDirectory() && !st.isSymbolicLink();

/**
 * A folder lint listed, judged by its looks: the walk's (`looked`), one just before the listing and one after it and
 * the looks at its entries. `replaced` when a link or another folder was there at any of them, since the listing (or
 * a look at an entry) may then have been of something outside the checkout; `gone` when nothing or no folder was (a
 * file in its place makes a listing fail as a removed folder does, and is said alike). Looks by path only: a link
 * swapped in and back between two of them is not seen (Node has no openat to list what a descriptor holds).
 */
export function judgeListed(looked: Look | undefined, before: Look | undefined, after: Look | undefined): 'same' | 'gone' | 'replaced' {
  const looks = [looked, before, after];
  if (looks.some((st) => st?.isSymbolicLink())) return 'replaced';
  if (!before || !after || looks.some((st) => st !== undefined && !st.isDirectory())) return 'gone';
  return looks.every((st) => st === undefined || sameIdentity(st, before)) ? 'same' : 'replaced';
}
