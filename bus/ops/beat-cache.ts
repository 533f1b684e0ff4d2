import { join } from 'node:path';
import type { BusContext } from '../context.js';
import { heartbeatRef, type BeatFacts } from '../model/liveness.js';
import { readBeatRef, type BeatDetails } from './heartbeat.js';
import { readCacheFile, writeCacheFile } from '../store/cache-files.js';
import { checksum, frame, readHeaderLine } from '../store/header-line.js';
import { BUILD_ID } from '../store/parse-cache.js';

/**
 * The node's heartbeats as read (issue 14: no command may cost more as the bus grows): `<clone>/gitbus-cache/
 * beats.cache`, each heartbeat commit's heartbeat.yaml as status read it, keyed by the commit's id. A commit never
 * changes, so what it says is read once: `status` on a bus of 100 live nodes read and parsed 100 commits, trees and
 * YAML files at every run (~1.7 ms a node), most of them unchanged since the run before. Like the parse cache, only
 * ever a faster way to what the node could read again: a file that is missing, of another build, or damaged is
 * ignored and written again.
 */

export type CachedBeat = { beat: BeatFacts & BeatDetails } | { notACommit: string };
/** A node's current heartbeat as status reads it: what its commit says (null: unreadable), or that it is no commit. */
export type CurrentBeat = CachedBeat | { beat: null };

const MAGIC = 'gitbus-beats\n';
const FORMAT = 1;
const NAME = 'beats.cache';
/** A file larger than this is neither written nor read: 100 nodes' beats are ~30 KB; a hostile heartbeat can be ~300 KB. */
export const MAX_BEAT_CACHE_BYTES = 4 * 2 ** 20;
const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function fileOf(gitdir: string): string {
  return join(gitdir, 'gitbus-cache', NAME);
}

/**
 * The current heartbeat of each of `nodes`, at the commits the listing just made shows: from the file when it has
 * the commit, else read from it (the commits new to this node fetched in one exchange first: Repo.prefetch). The
 * file is written anew with the commits used when one was read or a node is gone.
 */
export async function currentBeats(ctx: Pick<BusContext, 'repo'>, nodes: readonly string[]): Promise<Map<string, CurrentBeat>> {
  const cached = loadBeatCache(ctx.repo.gitdir);
  const listed = new Map(nodes.map((n) => [n, ctx.repo.lastRefs.get(heartbeatRef(n))]));
  await ctx.repo.prefetch([...listed.values()].filter((oid): oid is string => oid !== undefined && !cached.has(oid)));
  const used = new Map<string, CachedBeat>();
  const beats = new Map<string, CurrentBeat>();
  let fresh = false;
  for (const n of nodes) {
    const oid = listed.get(n);
    const hit = oid === undefined ? undefined : cached.get(oid);
    if (oid !== undefined && hit !== undefined) {
      used.set(oid, hit);
      beats.set(n, hit);
      continue;
    }
    const r = await readBeatRef(ctx, n);
    const read: CurrentBeat = r.notACommit !== undefined ? { notACommit: r.notACommit } : { beat: r.beat };
    beats.set(n, read);
    // What the commit says is kept; a beat that could not be read (a damaged commit, a failed read) is read again.
    if (r.oid === undefined) continue;
    if (r.notACommit !== undefined) used.set(r.oid, { notACommit: r.notACommit });
    else if (r.beat !== null) used.set(r.oid, { beat: r.beat });
    else continue;
    fresh = true;
  }
  if (fresh || used.size < cached.size) saveBeatCache(ctx.repo.gitdir, used);
  return beats;
}

/** The beats the file holds, by commit id; empty when there is none this build can use. */
export function loadBeatCache(gitdir: string, build = BUILD_ID): Map<string, CachedBeat> {
  const bytes = readCacheFile(fileOf(gitdir));
  return bytes ? decodeBeatCache(bytes, build) : new Map();
}

/** Writes the beats a status used (a reader sees a whole file or none); false when it was not written. */
export function saveBeatCache(gitdir: string, beats: ReadonlyMap<string, CachedBeat>, build = BUILD_ID): boolean {
  const bytes = encodeBeatCache(beats, build);
  return bytes !== null && writeCacheFile(join(gitdir, 'gitbus-cache'), NAME, bytes);
}

/** The file's bytes; null when they would be more than MAX_BEAT_CACHE_BYTES. Pure. */
export function encodeBeatCache(beats: ReadonlyMap<string, CachedBeat>, build: string): Buffer | null {
  const payload = Buffer.from(JSON.stringify([...beats]), 'utf8');
  if (payload.length > MAX_BEAT_CACHE_BYTES) return null;
  return frame(MAGIC, { format: FORMAT, build, bytes: payload.length, checksum: checksum(payload) }, [payload]);
}

/** The beats of a file's bytes: empty when it is another build's, another format's, cut short or damaged. Pure. */
export function decodeBeatCache(bytes: Buffer, build: string): Map<string, CachedBeat> {
  const none = new Map<string, CachedBeat>();
  try {
    if (bytes.length > MAX_BEAT_CACHE_BYTES + 4096) return none;
    const read = readHeaderLine(bytes, MAGIC);
    if (!read || read.header['format'] !== FORMAT || read.header['build'] !== build) return none;
    const payload = bytes.subarray(read.at);
    if (payload.length !== read.header['bytes'] || checksum(payload) !== read.header['checksum']) return none;
    const entries: unknown = JSON.parse(payload.toString('utf8'));
    if (!Array.isArray(entries)) return none;
    const beats = new Map<string, CachedBeat>();
    for (const e of entries) {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || !OID.test(e[0]) || !e[1] || typeof e[1] !== 'object') return none;
      beats.set(e[0], e[1] as CachedBeat);
    }
    return beats;
  } catch {
    return none;
  }
}
