import { join } from 'node:path';
import type { BusContext } from '../context.js';
import { heartbeatRef, type BeatFacts } from '../model/liveness.js';
import { readBeatRef, type BeatDetails } from './heartbeat.js';
import { decodeKeyed, encodeKeyed, loadKeyed, saveKeyed, type KeyedCacheKind } from '../store/keyed-cache-file.js';
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

const NAME = 'beats.cache';
/** A file larger than this is neither written nor read: 100 nodes' beats are ~30 KB; a hostile heartbeat can be ~300 KB. */
export const MAX_BEAT_CACHE_BYTES = 4 * 2 ** 20;
const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const BEATS: KeyedCacheKind = { magic: 'gitbus-beats\n', format: 1, maxBytes: MAX_BEAT_CACHE_BYTES, validKey: (k) => OID.test(k) };

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
  return loadKeyed(fileOf(gitdir), BEATS, build) as Map<string, CachedBeat>;
}

/** Writes the beats a status used (a reader sees a whole file or none); false when it was not written. */
export function saveBeatCache(gitdir: string, beats: ReadonlyMap<string, CachedBeat>, build = BUILD_ID): boolean {
  return saveKeyed(join(gitdir, 'gitbus-cache'), NAME, BEATS, beats, build);
}

/** The file's bytes; null when they would be more than MAX_BEAT_CACHE_BYTES. Pure. */
export function encodeBeatCache(beats: ReadonlyMap<string, CachedBeat>, build: string): Buffer | null {
  return encodeKeyed(beats, BEATS, build);
}

/** The beats of a file's bytes: empty when it is another build's, another format's, cut short or damaged. Pure. */
export function decodeBeatCache(bytes: Buffer, build: string): Map<string, CachedBeat> {
  return decodeKeyed(bytes, BEATS, build) as Map<string, CachedBeat>;
}
