import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_ID } from '../store/parse-cache.js';
import { decodeStatusDigest, encodeStatusDigest, type StatusDigest } from './status-digest-file.js';
import type { TaskSummary } from './task-summary.js';

/**
 * The node's status digests (status-digest-file.ts): `<clone>/gitbus-cache/status/<commit>.digest`, the newest
 * KEEP of them. Written by a status that worked its commit out in full, read by the next status of the same
 * commit. Like the parse cache, only ever a faster way to what the node could compute again from the commit: a
 * file that is missing, of another build, or damaged is ignored and written again.
 */
const KEEP = 2;
/** Fewer live tasks than this: status is quick without a digest, and a file a commit is not worth writing. */
export const DIGEST_MIN_TASKS = 50;
const NAME = /^[0-9a-f]{40}\.digest$/;
const TEMP = /^\.[0-9a-f]{40}\.\d+\.[0-9a-z]+\.tmp$/;
const TEMP_MAX_AGE_MS = 60_000;

function dirOf(gitdir: string): string {
  return join(gitdir, 'gitbus-cache', 'status');
}

/** The digest of `commit` (with all task summaries when `all`), or null when there is none this build can use. */
export function loadStatusDigest(gitdir: string, commit: string, all: boolean, build = BUILD_ID): { digest: StatusDigest; all: TaskSummary[] | null } | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dirOf(gitdir), `${commit}.digest`));
  } catch {
    return null;
  }
  return decodeStatusDigest(bytes, build, commit, all);
}

/** Writes the digest of its commit (temp file and rename: a reader sees a whole file or none), then prunes. */
export function saveStatusDigest(gitdir: string, digest: StatusDigest, all: readonly TaskSummary[], build = BUILD_ID): boolean {
  const dir = dirOf(gitdir);
  try {
    mkdirSync(dir, { recursive: true });
    const temp = join(dir, `.${digest.commit}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
    // No fsync: a file a crash left damaged fails its checksum and is written again.
    writeFileSync(temp, encodeStatusDigest(build, digest, all), { flag: 'wx', mode: 0o600 });
    renameSync(temp, join(dir, `${digest.commit}.digest`));
  } catch {
    // A digest that cannot be written (full disk, read-only home) only costs speed.
    return false;
  }
  prune(dir, `${digest.commit}.digest`);
  return true;
}

function prune(dir: string, keep: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  const files: { name: string; mtime: number }[] = [];
  for (const name of names) {
    if (name === keep || (!NAME.test(name) && !TEMP.test(name))) continue;
    try {
      const mtime = statSync(join(dir, name)).mtimeMs;
      // Temp files of writers that died before their rename.
      if (TEMP.test(name)) {
        if (now - mtime > TEMP_MAX_AGE_MS) remove(join(dir, name));
      } else files.push({ name, mtime });
    } catch {
      // Pruned by another process meanwhile.
    }
  }
  files.sort((a, b) => b.mtime - a.mtime || (a.name < b.name ? -1 : 1));
  for (const f of files.slice(KEEP - 1)) remove(join(dir, f.name));
}

function remove(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone: another process pruned it.
  }
}
