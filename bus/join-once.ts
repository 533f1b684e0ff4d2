import { join } from 'node:path';

/**
 * `join(dir, name)`, remembered: a short command joins the same home and remote folders with the same names dozens
 * of times, and each join normalizes its whole result character by character in Node's path module. Past ~100 such
 * joins of a long home path V8 finds that loop hot and compiles it with TurboFan: 3-5 ms of CPU on a compiler
 * thread, which a `dispatch` then waited for at exit (docs/PERFORMANCE.md "The command after a dispatch", session
 * 49). The paths a command builds again and again are joined once. Bounded, for the long-lived watcher.
 */
const joined = new Map<string, string>();
const MAX_REMEMBERED = 512;

export function joinOnce(dir: string, name: string): string {
  const key = `${dir}\0${name}`;
  let path = joined.get(key);
  if (path === undefined) {
    path = join(dir, name);
    if (joined.size >= MAX_REMEMBERED) joined.clear();
    joined.set(key, path);
  }
  return path;
}
