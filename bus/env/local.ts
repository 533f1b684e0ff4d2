import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomicSync } from '../local-io.js';
import { ENV_MAX_DEPTH } from '../../schemas/env-paths.js';
import { neverWritten, type Skipped } from './resolve.js';

/**
 * The node's side of a profile: files under the user's home (passed in explicitly: tests use a temporary one, the
 * CLI $HOME). Links are read through, since dotfiles are often links into a repository, but never written over.
 */

export type LocalFile =
  | { kind: 'missing' }
  | { kind: 'file'; bytes: Buffer; mode: number; link: boolean }
  | { kind: 'other'; why: string };

export function absOf(userHome: string, rel: string): string {
  return join(userHome, ...rel.split('/'));
}

export function readLocal(userHome: string, rel: string): LocalFile {
  const abs = absOf(userHome, rel);
  let st;
  try {
    st = lstatSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ENOTDIR') return { kind: 'other', why: 'a folder on its path is a file' };
    throw err;
  }
  if (st.isSymbolicLink()) {
    let to;
    try {
      to = statSync(abs);
    } catch {
      return { kind: 'other', why: 'a broken symbolic link' };
    }
    if (!to.isFile()) return { kind: 'other', why: 'a symbolic link to something that is not a file' };
    return { kind: 'file', bytes: readFileSync(abs), mode: to.mode & 0o7777, link: true };
  }
  if (st.isFile()) return { kind: 'file', bytes: readFileSync(abs), mode: st.mode & 0o7777, link: false };
  return { kind: 'other', why: st.isDirectory() ? 'a folder' : 'not a regular file' };
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
 * left out without being entered (~/.claude/projects can be large), and so are links to folders and anything deeper
 * than the depth limit.
 */
export function walkLocalDir(userHome: string, rel: string): { files: string[]; skipped: Skipped[] } {
  const files: string[] = [];
  const skipped: Skipped[] = [];
  const visit = (dirRel: string, depth: number) => {
    const names = readdirSync(absOf(userHome, dirRel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const d of names) {
      const childRel = `${dirRel}/${d.name}`;
      const target = `~/${childRel}`;
      const never = neverWritten(childRel);
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
  const abs = absOf(userHome, rel);
  mkdirSync(dirname(abs), { recursive: true });
  const tmp = join(dirname(abs), `.${basename(abs)}.gitbus-${process.pid}-${randomBytes(3).toString('hex')}.tmp`);
  writeFileAtomicSync(abs, bytes, tmp, { mode });
  // The mode given to the write is masked by the umask and ignored for an existing temp name: set it exactly.
  chmodSync(abs, mode);
}

/** Sets a file's mode; false when the file system did not keep the executable bits asked for. */
export function chmodLocal(userHome: string, rel: string, mode: number): boolean {
  const abs = absOf(userHome, rel);
  chmodSync(abs, mode);
  return (statSync(abs).mode & 0o111) === (mode & 0o111);
}

export function removeLocal(userHome: string, rel: string): void {
  rmSync(absOf(userHome, rel), { force: true });
}

/** A mode with the executable bits set or cleared: where the file may be read, it may be run. */
export function withExecutable(mode: number, executable: boolean): number {
  const base = mode & 0o7666;
  return executable ? base | ((base & 0o444) >> 2) : base;
}
