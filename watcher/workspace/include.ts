import { closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { git } from '../../bus/project/git.js';

/** A gitignore-style glob as a regular expression: `*` and `?` within a part, `**` across parts; a pattern without "/" matches a name at any depth. Pure. */
export function globRegExp(pattern: string): RegExp {
  let p = pattern.trim();
  const anchored = p.startsWith('/') || p.slice(0, -1).includes('/');
  p = p.replace(/^\//, '').replace(/\/$/, '/**');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i] ?? '';
    if (c === '*' && p[i + 1] === '*') {
      re += '.*';
      i++;
      if (p[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(anchored ? `^${re}$` : `(^|/)${re}$`);
}

/** The patterns of a `.worktreeinclude` file (Claude Code's): gitignore lines, comments and blanks left out. Pure. */
export function parseIncludeFile(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('!'));
}

/** What copyIncluded did: the paths copied (relative), and the ones it left out, each with why. */
export interface Included {
  copied: string[];
  skipped: string[];
}

/**
 * Whether `rel` can be written in the worktree: 'free', 'present' (the branch has it), or why not: the worktree's content comes from the bus, and
 * a folder on the way that is a symbolic link (or a dangling link at the file itself) would carry the node's file
 * out of the worktree, or into a tracked folder that is then committed and pushed. Nothing is written through a link.
 */
function target(worktree: string, rel: string): 'free' | 'present' | { why: string } {
  const parts = rel.split('/');
  let at = worktree;
  for (const [i, part] of parts.entries()) {
    at = join(at, part);
    let st;
    try {
      st = lstatSync(at);
    } catch {
      return 'free'; // the rest of the path is not there: made below, folder by folder
    }
    const here = parts.slice(0, i + 1).join('/');
    if (st.isSymbolicLink()) return { why: `${here} is a symbolic link in the worktree` };
    if (i === parts.length - 1) return 'present';
    if (!st.isDirectory()) return { why: `${here} is not a folder in the worktree` };
  }
  return 'free';
}

/** Writes `data` at `rel` in the worktree, making its folders one by one, never following a link (checked by target()). */
function writeNew(worktree: string, rel: string, data: Buffer, mode: number): void {
  const parts = rel.split('/');
  let at = worktree;
  for (const part of parts.slice(0, -1)) {
    at = join(at, part);
    try {
      mkdirSync(at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !lstatSync(at).isDirectory()) throw err;
    }
  }
  // O_EXCL refuses a file or link already there; O_NOFOLLOW refuses a link in the last part even so.
  const fd = openSync(join(worktree, rel), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode & 0o777);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

/**
 * Copies the files a task needs but git does not carry (`.env`, local settings) from the node's checkout of the
 * project into a new worktree: the ignored, untracked files of the checkout that match `include` (or the checkout's
 * `.worktreeinclude`). Files the worktree already has, and paths that pass through a symbolic link of the worktree,
 * are left alone (said in `skipped`). The copied paths are never committed (results.ts).
 */
export async function copyIncluded(checkout: string, worktree: string, include: string[] | undefined): Promise<Included> {
  if (!existsSync(checkout)) throw new Error(`the checkout ${checkout} named in node.yaml does not exist`);
  const patterns = include ?? (existsSync(join(checkout, '.worktreeinclude')) ? parseIncludeFile(readFileSync(join(checkout, '.worktreeinclude'), 'utf8')) : []);
  if (patterns.length === 0) return { copied: [], skipped: [] };
  const res = patterns.map(globRegExp);
  const listed = await git(['ls-files', '-z', '--others', '--ignored', '--exclude-standard'], { cwd: checkout, what: `could not list the ignored files of ${checkout}` });
  const copied: string[] = [];
  const skipped: string[] = [];
  for (const rel of listed.stdout.split('\0').filter(Boolean)) {
    if (!res.some((r) => r.test(rel))) continue;
    const from = resolve(checkout, rel);
    const inside = relative(worktree, resolve(worktree, rel));
    if (inside.startsWith('..') || inside.split(sep).includes('..')) continue;
    const st = lstatSync(from);
    if (!st.isFile()) continue;
    const t = target(worktree, rel);
    if (t === 'present') continue;
    if (t !== 'free') {
      skipped.push(`${rel}: ${t.why}`);
      continue;
    }
    writeNew(worktree, rel, readFileSync(from), st.mode);
    copied.push(rel);
  }
  return { copied, skipped };
}
