import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** A task's log (`<id>.<attempt>.log`) or the icecc compile log next to it (`<id>.<attempt>.icecc.log`). */
const TASK_LOG = /^(.+\.\d+)(\.icecc)?\.log$/;

/**
 * Removes task logs last written more than `maxAgeMs` ago from the home's logs folder, so that a node that has
 * run thousands of tasks does not keep every byte of their output forever. The responses in the bus keep each
 * task's summary and output tail. Logs of `running` tasks (`<id>.<attempt>`) are kept whatever their age;
 * other files (a service's watcher.log) are not touched. Returns the names removed.
 */
export function pruneTaskLogs(dir: string, maxAgeMs: number, running: ReadonlySet<string>, now = Date.now()): string[] {
  if (!(maxAgeMs > 0) || !Number.isFinite(maxAgeMs)) return [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TASK_LOG.exec(name);
    if (!m?.[1] || running.has(m[1])) continue;
    try {
      if (now - statSync(join(dir, name)).mtimeMs <= maxAgeMs) continue;
      rmSync(join(dir, name), { force: true });
      removed.push(name);
    } catch {
      // gone already, or not ours to remove: the next pass tries again
    }
  }
  return removed.sort();
}
