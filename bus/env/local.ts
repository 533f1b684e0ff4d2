import { mathRandomHex } from '../../schemas/math-random.js';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ENV_MAX_DEPTH, ENV_MAX_FILE_BYTES, isGitDirName, whyNotSegment } from '../../schemas/env-paths.js';
import { EnvHomeMissingError, EnvPathUnsafeError } from './errors.js';
import { PERMISSION_BITS } from './modes.js';
import { neverWritten, type Skipped } from './resolve.js';

/**
 * The node's side of a profile: files under the user's home (passed in explicitly: tests use a temporary one, the
 * CLI $HOME). Links are read through, since dotfiles are often links into a repository, but never written over.
 */

export type LocalFile =
  | { kind: 'missing' }
  | { kind: 'file'; bytes: Buffer; mode: number; link: boolean }
  /**
   * `why` reads after "it is": "a folder", "too large (…)", "unreadable here (ENAMETOOLONG: …)"; `size` is set for a
   * file too large (capture leaves one inside a folder out, and refuses one named alone with another fix).
   */
  | { kind: 'other'; why: string; size?: number };

/**
 * An fs error in one line: its code and message, the code once (Node's messages start with it already: "ENOENT: no
 * such file or directory, open '…'").
 */
export function fsReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const message = String(e?.message ?? err).split('\n')[0]?.slice(0, 200) ?? '';
  return e?.code && !message.startsWith(e.code) ? `${e.code}: ${message}` : message;
}

/** An fs error as words after "it is", for a file that cannot be looked at (a name too long, a loop, no access). */
function unreadable(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOTDIR') return 'under a file: a folder on its path is a file';
  return `unreadable (${fsReason(err)})`;
}

/**
 * The home folder profiles are read from and written to: `$HOME` (`raw`) when it is set, else the account's, checked
 * to be an absolute path to a folder that exists. Without the check a missing home reads as every file missing here,
 * and apply fails on each file with the fs error.
 */
export function envUserHome(raw: string | undefined, account: () => string): string {
  const from = raw !== undefined && raw !== '' ? 'HOME' : 'account';
  const home = from === 'HOME' && raw !== undefined ? raw : account();
  if (!isAbsolute(home)) throw new EnvHomeMissingError(home, 'is not an absolute path', from);
  let st;
  try {
    st = statSync(home);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new EnvHomeMissingError(home, code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be looked at (${fsReason(err)})`, from);
  }
  if (!st.isDirectory()) throw new EnvHomeMissingError(home, 'is not a folder', from);
  return resolve(home);
}

/** A file too large for a profile is never read (nor backed up): the node's files can be anything, disk images too. */
function tooLarge(size: number): string | undefined {
  return size > ENV_MAX_FILE_BYTES ? `too large (${size} bytes; a profile's file is at most ${ENV_MAX_FILE_BYTES})` : undefined;
}

export function absOf(userHome: string, rel: string): string {
  return join(userHome, ...rel.split('/'));
}

/** A path with its links resolved (the real one, in the case the file system keeps), or as it is when it cannot be. */
function real(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return resolve(path);
  }
}

/** `path` relative to `dir` with "/" between names when it is `dir` or inside it ('' for `dir` itself), else undefined. */
function within(dir: string, path: string): string | undefined {
  const rel = relative(dir, path);
  if (rel === '') return '';
  // `..gb` is a name inside `dir`; only `..` itself or a path through it leaves it.
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? undefined : rel.split(sep).join('/');
}

/**
 * gitbus's bus home in use (GITBUS_HOME, --home, or ~/.gitbus) as a profile must never touch it: `rels`, where it is
 * under the user's home as given and with links resolved (a linked $HOME, a bus home named through a link), for
 * neverSynced; `real`, its real path, for a file capture reads through a link.
 */
export interface OwnHome {
  rels: string[];
  real: string;
}

export function ownHome(userHome: string, busHome: string): OwnHome {
  const realBus = real(busHome);
  const rels = [within(resolve(userHome), resolve(busHome)), within(real(userHome), realBus)].filter((r): r is string => r !== undefined);
  return { rels: [...new Set(rels)], real: realBus };
}

/**
 * Why the file or folder at `rel`, its links followed, is gitbus's bus home or inside it, or undefined: a link in the
 * home (~/gb → the bus home) leads capture there although no name on its path says so.
 */
export function reachesOwnHome(userHome: string, rel: string, own: OwnHome): string | undefined {
  const at = within(own.real, real(absOf(userHome, rel)));
  return at === undefined ? undefined : `gitbus's bus home in use (${own.real}: this node's name, clone, state and key) belongs to its machine, and ~/${rel} leads into it through a link`;
}

export function readLocal(userHome: string, rel: string): LocalFile {
  const abs = absOf(userHome, rel);
  let st;
  try {
    st = lstatSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'other', why: unreadable(err) };
  }
  const link = st.isSymbolicLink();
  if (link) {
    try {
      st = statSync(abs);
    } catch {
      return { kind: 'other', why: 'a broken symbolic link' };
    }
    if (!st.isFile()) return { kind: 'other', why: 'a symbolic link to something that is not a file' };
  } else if (!st.isFile()) return { kind: 'other', why: st.isDirectory() ? 'a folder' : 'not a regular file' };
  const big = tooLarge(st.size);
  if (big !== undefined) return { kind: 'other', why: big, size: st.size };
  let bytes: Buffer;
  try {
    bytes = readFileSync(abs);
  } catch (err) {
    return { kind: 'other', why: unreadable(err) };
  }
  // It may have grown between the stat and the read.
  const grown = tooLarge(bytes.byteLength);
  if (grown !== undefined) return { kind: 'other', why: grown, size: bytes.byteLength };
  return { kind: 'file', bytes, mode: st.mode & 0o7777, link };
}

/**
 * Why a file at `rel` cannot be written without going through a link: the first folder on its path below the home
 * that is a symbolic link (or not a folder), or undefined. Links are read through, never written through: a linked
 * ~/.config may lead anywhere, outside the home too.
 */
export function linkOnPath(userHome: string, rel: string): string | undefined {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    let st;
    try {
      st = lstatSync(absOf(userHome, prefix));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return `~/${prefix} on its path is ${unreadable(err)}`;
    }
    if (st.isSymbolicLink()) return `~/${prefix} on its path is a symbolic link`;
    if (!st.isDirectory()) return `~/${prefix} on its path is a file`;
  }
  return undefined;
}

/** Makes the folders of `rel`'s path one by one, refusing a link or a file among them (never mkdir -p through a link). */
function makeParents(userHome: string, rel: string): void {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    const abs = absOf(userHome, prefix);
    let st;
    try {
      st = lstatSync(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(abs);
      continue;
    }
    if (st.isSymbolicLink()) throw new EnvPathUnsafeError(`~/${rel}`, `~/${prefix} on its path is a symbolic link`);
    if (!st.isDirectory()) throw new EnvPathUnsafeError(`~/${rel}`, `~/${prefix} on its path is a file`);
  }
}

/** Refuses a write, chmod or removal at `rel` that would go through or over a link. */
function refuseLinks(userHome: string, rel: string): void {
  const why = linkOnPath(userHome, rel);
  if (why !== undefined) throw new EnvPathUnsafeError(`~/${rel}`, why);
  let st;
  try {
    st = lstatSync(absOf(userHome, rel));
  } catch {
    return;
  }
  if (st.isSymbolicLink()) throw new EnvPathUnsafeError(`~/${rel}`, 'it is a symbolic link');
}

/** What is at a path: for capture, to tell a file from a folder (links followed). */
export function localKind(userHome: string, rel: string): 'file' | 'dir' | 'missing' | 'other' {
  try {
    const st = statSync(absOf(userHome, rel));
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

/**
 * Every file under the folder at `rel` (home-relative paths), for capturing a folder entry. What is never synced is
 * left out without being entered (~/.claude/projects can be large), and so are `.git` folders (or files), links to
 * folders and anything deeper than the depth limit.
 */
export function walkLocalDir(userHome: string, rel: string, busHome: readonly string[]): { files: string[]; skipped: Skipped[] } {
  const files: string[] = [];
  const skipped: Skipped[] = [];
  const visit = (dirRel: string, depth: number) => {
    const names = readdirSync(absOf(userHome, dirRel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const d of names) {
      const childRel = `${dirRel}/${d.name}`;
      const target = `~/${childRel}`;
      // A repository inside the folder (a skill installed with git clone): its .git would put a path no git
      // repository may hold on the bus, and its objects are not setup.
      if (isGitDirName(d.name)) {
        skipped.push({ target, reason: 'a git repository\'s own folder (.git) is never synced: no git repository may hold one; the files it tracks are synced' });
        continue;
      }
      // A name no profile may hold (macOS's "Icon\r", "notes " with a trailing space, "a\\b"): taken, it would make the
      // manifest invalid on every node, and capture again would take it again.
      const badName = whyNotSegment(d.name);
      if (badName !== undefined) {
        skipped.push({ target, reason: `its name cannot be kept in a profile (${badName}): left out; rename it to sync it` });
        continue;
      }
      const never = neverWritten(childRel, busHome);
      // A name that looks like a secret is the secret scan's to refuse; only what is never synced is skipped here.
      if (never !== undefined && !never.includes('looks like a secret')) {
        skipped.push({ target, reason: never });
        continue;
      }
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      if (d.isSymbolicLink()) {
        try {
          const st = statSync(absOf(userHome, childRel));
          isDir = false;
          isFile = st.isFile();
          if (st.isDirectory()) {
            skipped.push({ target, reason: 'a symbolic link to a folder (not followed)' });
            continue;
          }
        } catch {
          skipped.push({ target, reason: 'a broken symbolic link' });
          continue;
        }
      }
      if (isDir) {
        if (depth >= ENV_MAX_DEPTH) skipped.push({ target, reason: `more than ${ENV_MAX_DEPTH} folders deep` });
        else visit(childRel, depth + 1);
      } else if (isFile) files.push(childRel);
      else skipped.push({ target, reason: 'not a regular file' });
    }
  };
  visit(rel, 1);
  return { files, skipped };
}

/**
 * Writes a file of the home through a temp file beside it and a rename, so no program ever reads half a
 * settings.json; folders on the way are made. The rename replaces a file, never a link (apply refuses those first).
 */
export function writeLocal(userHome: string, rel: string, bytes: Uint8Array, mode: number): void {
  const staged = stageLocal(userHome, rel, bytes, mode);
  try {
    staged.commit();
  } catch (err) {
    staged.discard();
    throw err;
  }
}

/** A file written beside its place and not yet put there (stageLocal). */
export interface StagedFile {
  /** Puts the file in its place: a rename, which needs no room on the disk. */
  commit(): void;
  /** Removes the staged copy. */
  discard(): void;
}

/**
 * What a file staged beside its place is named: `.gitbus-tmp-<pid>-<12 hex>`. The writer's pid tells a write in
 * progress, however slow (a restore stages every file before it renames any), from one a killed process left
 * (staged.ts sweeps those); `.gitbus-tmp-<12 hex>`, without a pid, is what gitbus wrote before, judged by age alone.
 * The first versions named it after its file, `.NAME.gitbus-<pid>-<6 hex>.tmp` (OLD_STAGED_RE), until a name of 231
 * or more bytes had no room for that. schemas/env-paths.ts never syncs any of them.
 */
export const STAGED_RE = /^\.gitbus-tmp-(?:([1-9][0-9]{0,9})-)?[0-9a-f]{12}$/;
/** `.NAME.gitbus-<pid>-<6 hex>.tmp`, as the first versions staged a file NAME; always with its writer's pid. */
export const OLD_STAGED_RE = /^\..+\.gitbus-([1-9][0-9]{0,9})-[0-9a-f]{6}\.tmp$/;

/** A name of its own, not the file's with more around it: a file's name may be 255 bytes, the most a name can be. */
function stagedName(): string {
  return `.gitbus-tmp-${process.pid}-${mathRandomHex(6)}`;
}

/**
 * Writes what `rel` is to hold into a temp file beside it, with its mode, without touching `rel`: writeLocal puts it
 * in place at once; a restore stages every file before it puts any in place, so a write that fails (a full disk)
 * leaves the home as it was. The rename stays in the folder the links were checked in.
 */
export function stageLocal(userHome: string, rel: string, bytes: Uint8Array, mode: number): StagedFile {
  const abs = absOf(userHome, rel);
  makeParents(userHome, rel);
  refuseLinks(userHome, rel);
  const tmp = join(dirname(abs), stagedName());
  const discard = () => rmSync(tmp, { force: true });
  try {
    writeFileSync(tmp, bytes, { mode: mode & PERMISSION_BITS });
    // The mode given to the write is masked by the umask and ignored for an existing temp name: set it exactly, its
    // permission bits only (modes.ts), whatever a caller passed.
    chmodSync(tmp, mode & PERMISSION_BITS);
  } catch (err) {
    discard();
    throw err;
  }
  return { commit: () => renameSync(tmp, abs), discard };
}

/** Sets a file's mode; false when the file system did not keep the executable bits asked for. */
export function chmodLocal(userHome: string, rel: string, mode: number): boolean {
  const abs = absOf(userHome, rel);
  refuseLinks(userHome, rel);
  chmodSync(abs, mode & PERMISSION_BITS);
  return (statSync(abs).mode & 0o111) === (mode & 0o111);
}

export function removeLocal(userHome: string, rel: string): void {
  refuseLinks(userHome, rel);
  rmSync(absOf(userHome, rel), { force: true });
}

/**
 * A mode with the executable bits set or cleared: where the file may be read, it may be run. Permission bits only: a
 * setuid, setgid or sticky bit of the file here is not kept for the profile's content (modes.ts).
 */
export function withExecutable(mode: number, executable: boolean): number {
  const base = mode & 0o666;
  return executable ? base | ((base & 0o444) >> 2) : base;
}
