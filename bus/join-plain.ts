import { join, normalize, sep } from 'node:path';

/**
 * `join(dir, name)` without normalizing the same folder's path again and again: a short command joins the same home,
 * clone and remote folders dozens of times, and each `join` normalizes its whole result character by character in
 * Node's path module. Past ~100 such joins of a long home path V8 finds that loop hot and compiles it with TurboFan:
 * 3-5 ms of CPU on a compiler thread, which a `dispatch` then waited for at exit (docs/PERFORMANCE.md "The command
 * after a dispatch", session 49). Whether a folder's path is already as `normalize` leaves it is worked out once
 * per folder; a plain relative name under it (`queue`, `refs/heads/main`: no empty, `.` or `..` part) is then put
 * after it as `join` would put it, and any other name goes through `join`. Bounded, for the long-lived watcher.
 */
const plainFolders = new Map<string, boolean>();
const MAX_REMEMBERED = 512;

export function joinPlain(dir: string, name: string): string {
  if (!isPlainName(name) || !isPlainFolder(dir)) return join(dir, name);
  return `${dir}${sep}${sep === '/' ? name : name.replaceAll('/', sep)}`;
}

/**
 * Parts between `/` none of them empty, `.` or `..`, and no `\`: `/^(?!\.\.?(?:\/|$))(?:[^/\\]+?)(?:\/(?!\.\.?(?:\/|$))[^/\\]+)*$/`
 * without compiling it at every start (schemas/text-scan.ts).
 */
export function isPlainName(name: string): boolean {
  let start = 0;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 0x2f;
    if (c === 0x5c) return false;
    if (c !== 0x2f) continue;
    const length = i - start;
    if (length === 0) return false;
    if (name.charCodeAt(start) === 0x2e && (length === 1 || (length === 2 && name.charCodeAt(start + 1) === 0x2e))) return false;
    start = i + 1;
  }
  return true;
}

/** A folder's path as `normalize` leaves it, and not the root or `.`, so that `dir + sep + name` is `join(dir, name)`. */
function isPlainFolder(dir: string): boolean {
  let plain = plainFolders.get(dir);
  if (plain === undefined) {
    plain = dir !== '' && dir !== '.' && !dir.endsWith(sep) && !dir.endsWith('/') && normalize(dir) === dir;
    if (plainFolders.size >= MAX_REMEMBERED) plainFolders.clear();
    plainFolders.set(dir, plain);
  }
  return plain;
}
