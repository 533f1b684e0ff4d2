import { lstatSync, readdirSync, unlinkSync } from 'node:fs';
import { LEFTOVER_AGE_MS } from '../leftovers.js';
import { isAlive } from '../lock.js';
import { absOf, linkOnPath, OLD_STAGED_RE, STAGED_RE } from './local.js';

/**
 * `env apply` and `env restore` write a file of the home through a temp file beside it and a rename (local.ts
 * stageLocal). One killed between the two (a SIGKILL, a power cut) leaves the temp file, which capture skips
 * (schemas/env-paths.ts neverSynced) and nothing else would ever remove from the user's home: the next apply or
 * restore writing in that folder does.
 */

/**
 * Removes the temp files a killed apply or restore left in the folders of `rels` (home-relative paths of the files
 * it writes), and returns them as `~/…`; with `dryRun`, only says which. Only a regular file (never a link, nor
 * anything through one: a folder reached through a link is not looked in) named exactly as stageLocal names them
 * or an older gitbus named them (local.ts OLD_STAGED_RE), older than bus/leftovers.ts's LEFTOVER_AGE_MS (a write
 * takes milliseconds), and whose writer is not running.
 */
export function sweepStaged(userHome: string, rels: readonly string[], opts: { dryRun?: boolean; now?: number } = {}): string[] {
  const before = (opts.now ?? Date.now()) - LEFTOVER_AGE_MS;
  const dirs = new Set(rels.map((rel) => rel.split('/').slice(0, -1).join('/')));
  const removed: string[] = [];
  for (const dir of [...dirs].sort()) {
    // The folder and every one on its path below the home must be a real folder: a sweep never goes through a link.
    if (linkOnPath(userHome, dir === '' ? 'x' : `${dir}/x`) !== undefined) continue;
    let names: string[];
    try {
      names = readdirSync(dir === '' ? userHome : absOf(userHome, dir));
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      // An older gitbus's name too: it was killed as a newer one can be, and nothing else removes its leftovers.
      const m = STAGED_RE.exec(name) ?? OLD_STAGED_RE.exec(name);
      if (!m) continue;
      const pid = m[1];
      if (pid !== undefined && isAlive(Number(pid))) continue;
      const rel = dir === '' ? name : `${dir}/${name}`;
      const abs = absOf(userHome, rel);
      try {
        const st = lstatSync(abs);
        if (!st.isFile() || st.mtimeMs >= before) continue;
        if (!opts.dryRun) unlinkSync(abs);
        removed.push(`~/${rel}`);
      } catch {
        // Renamed into place or removed meanwhile, or not ours to remove: left as it is.
      }
    }
  }
  return removed;
}
