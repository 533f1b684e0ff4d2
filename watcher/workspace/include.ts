import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
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

/**
 * Copies the files a task needs but git does not carry (`.env`, local settings) from the node's checkout of the
 * project into a new worktree: the ignored, untracked files of the checkout that match `include` (or the checkout's
 * `.worktreeinclude`). Files the worktree already has are left alone. Returns the paths copied, relative.
 */
export async function copyIncluded(checkout: string, worktree: string, include: string[] | undefined): Promise<string[]> {
  if (!existsSync(checkout)) throw new Error(`the checkout ${checkout} named in node.yaml does not exist`);
  const patterns = include ?? (existsSync(join(checkout, '.worktreeinclude')) ? parseIncludeFile(readFileSync(join(checkout, '.worktreeinclude'), 'utf8')) : []);
  if (patterns.length === 0) return [];
  const res = patterns.map(globRegExp);
  const listed = await git(['ls-files', '-z', '--others', '--ignored', '--exclude-standard'], { cwd: checkout, what: `could not list the ignored files of ${checkout}` });
  const copied: string[] = [];
  for (const rel of listed.stdout.split('\0').filter(Boolean)) {
    if (!res.some((r) => r.test(rel))) continue;
    const from = resolve(checkout, rel);
    const to = resolve(worktree, rel);
    if (relative(worktree, to).startsWith('..') || existsSync(to)) continue;
    const st = lstatSync(from);
    if (!st.isFile()) continue;
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
    copied.push(rel);
  }
  return copied;
}
