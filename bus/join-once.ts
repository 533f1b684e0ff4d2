import { join, normalize, sep } from 'node:path';

/**
 * `join(dir, name)` without normalizing the same folder's path again and again: a short command joins the same home,
 * clone and remote folders dozens of times, and each `join` normalizes its whole result character by character in
 * Node's path module. Past ~100 such joins of a long home path V8 finds that loop hot and compiles it with TurboFan:
 * 3-5 ms of CPU on a compiler thread, which a `dispatch` then waited for at exit (docs/PERFORMANCE.md "The command
 * after a dispatch", session 49). A folder is normalized once; a plain name (no separator, not `.` or `..`) is then
 * put after it as `join` would put it, and any other name goes through `join`. Results are remembered too, for the
 * paths built again and again. Both bounded, for the long-lived watcher.
 */
const joined = new Map<string, string>();
const plainFolders = new Map<string, boolean>();
const MAX_REMEMBERED = 512;
const PLAIN_NAME = sep === '/' ? /^(?!\.\.?$)[^/]+$/ : /^(?!\.\.?$)[^/\\]+$/;

export function joinOnce(dir: string, name: string): string {
  const key = `${dir}\0${name}`;
  let path = joined.get(key);
  if (path === undefined) {
    path = PLAIN_NAME.test(name) && isPlainFolder(dir) ? `${dir}${sep}${name}` : join(dir, name);
    if (joined.size >= MAX_REMEMBERED) joined.clear();
    joined.set(key, path);
  }
  return path;
}

/** A folder's path as `normalize` leaves it, and not the root, so that `dir + sep + name` is `join(dir, name)`. */
function isPlainFolder(dir: string): boolean {
  let plain = plainFolders.get(dir);
  if (plain === undefined) {
    plain = dir !== '' && dir !== '.' && !dir.endsWith(sep) && !dir.endsWith('/') && normalize(dir) === dir;
    if (plainFolders.size >= MAX_REMEMBERED) plainFolders.clear();
    plainFolders.set(dir, plain);
  }
  return plain;
}
