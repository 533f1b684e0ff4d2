import { join } from 'node:path';
import { BUILD_ID } from '../store/parse-cache.js';
import { cacheNames, newestFirst, readCacheFile, removeCacheFile, removeDeadTemps, writeCacheFile } from '../store/cache-files.js';
import { decodeStatusDigest, encodeStatusDigest, type DeriveFacts, type StatusDigest, type SummaryLine } from './status-digest-file.js';
import type { TaskSummary } from './task-summary.js';

/**
 * The node's status digests (status-digest-file.ts): `<clone>/gitbus-cache/status/<commit>.digest`, the newest
 * KEEP of them. Written by a status that worked its commit out (in full, or derived from an earlier commit's digest),
 * read by the next status of the same commit, and by that of a later commit to derive its own (status-derive.ts). Like the parse cache, only ever a faster way to what the node could compute again from the commit: a
 * file that is missing, of another build, or damaged is ignored and written again.
 */
const KEEP = 2;
/** Fewer live tasks than this: status is quick without a digest, and a file a commit is not worth writing. */
export const DIGEST_MIN_TASKS = 50;
const NAME = /^[0-9a-f]{40}\.digest$/;
const TEMP = /^\.[0-9a-f]{40}\.\d+\.[0-9a-z]+\.tmp$/;

function dirOf(gitdir: string): string {
  return join(gitdir, 'gitbus-cache', 'status');
}

/** The digest of `commit` (with all task summaries when `all`), or null when there is none this build can use. */
export function loadStatusDigest(gitdir: string, commit: string, all: boolean, build = BUILD_ID): { digest: StatusDigest; all: TaskSummary[] | null } | null {
  const bytes = readCacheFile(join(dirOf(gitdir), `${commit}.digest`));
  return bytes ? decodeStatusDigest(bytes, build, commit, all) : null;
}

/**
 * The newest digest of a commit other than `commit` this build can use, with its summaries' lines (unparsed) and
 * DeriveFacts: what a status of `commit` derives its own from. Null when there is none.
 */
export function loadNewestStatusDigest(gitdir: string, commit: string, build = BUILD_ID): { digest: StatusDigest; lines: SummaryLine[]; derive: DeriveFacts } | null {
  const dir = dirOf(gitdir);
  const newest = newestFirst(dir, cacheNames(dir), (n) => n !== `${commit}.digest` && NAME.test(n))[0];
  if (!newest) return null;
  const bytes = readCacheFile(join(dir, newest.name));
  const d = bytes ? decodeStatusDigest(bytes, build, newest.name.slice(0, 40), false, true) : null;
  return d?.lines && d.derive ? { digest: d.digest, lines: d.lines, derive: d.derive } : null;
}

/** Writes the digest of its commit (a reader sees a whole file or none), then prunes. */
export function saveStatusDigest(gitdir: string, digest: StatusDigest, all: readonly SummaryLine[], derive: DeriveFacts, build = BUILD_ID): boolean {
  const dir = dirOf(gitdir);
  const name = `${digest.commit}.digest`;
  // A digest that cannot be written (full disk, read-only home) only costs speed.
  if (!writeCacheFile(dir, name, encodeStatusDigest(build, digest, all, derive))) return false;
  const names = cacheNames(dir);
  removeDeadTemps(dir, names, TEMP);
  for (const f of newestFirst(dir, names, (n) => n !== name && NAME.test(n)).slice(KEEP - 1)) removeCacheFile(join(dir, f.name));
  return true;
}
