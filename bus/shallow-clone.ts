import { mathRandomHex } from '../schemas/math-random.js';
import { fs } from './node-fs.js';
import { readdir, rename, rm } from './node-fs-async.js';
import { dirname, join } from 'node:path';
import { NoBusError } from './errors.js';
import { explodePack } from './git/explode-pack.js';
import { initBareClone } from './store/init-clone.js';
import { MAIN } from './repo.js';
import { fetchObjects } from './git/fetch.js';
import { writeLocalRef } from './store/local-ref.js';
import type { Transport } from './transport/transport.js';

/**
 * The shallow clone holds only the live tree, whose size follows live work: keep its objects loose, where the
 * node reads them with node:zlib, instead of in a pack read through isomorphic-git (several times slower on
 * Node 20).
 */
async function explodePacks(gitdir: string): Promise<void> {
  const dir = join(gitdir, 'objects', 'pack');
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.endsWith('.idx')) await explodePack({ fs, gitdir, packName: name.slice(0, -'.idx'.length) });
  }
}

/**
 * A depth-1 clone of the remote's main (`head`, from a listing just made) into a new bare `gitdir` (what `join`
 * makes): one want for that commit through the same lean fetch later updates use. Not isomorphic-git's fetch:
 * it resolves the remote's HEAD, which a bus never needs and which a plain `git init --bare` leaves pointing at
 * an unborn master. Returns the commit of main (over SSH a newer one than `head` when main moved meanwhile).
 */
export async function shallowClone(gitdir: string, transport: Transport, head: string, cache: object): Promise<string> {
  await initBareClone(gitdir);
  const { fetched } = await fetchObjects({ fs, gitdir, cache, transport, want: head, ref: MAIN, haves: [], depth: 1, explodeBelow: Number.POSITIVE_INFINITY });
  writeLocalRef(gitdir, MAIN, fetched);
  await explodePacks(gitdir);
  return fetched;
}

/** Whether the home holding the clone `gitdir` is gone: a home is its node.yaml first (openBus reads it before it clones). */
export function homeGoneFor(gitdir: string): boolean {
  return !fs.existsSync(join(dirname(gitdir), 'node.yaml'));
}

/**
 * Replaces a node's clone that cannot be repaired object by object (missing, or damaged beyond what fetching
 * main again fixes) with a fresh depth-1 clone. Only the clone changes: node.yaml, logs, the outbox stay. The
 * old clone is kept beside it as `clone.git.damaged-<time>` for a person to look at (or delete).
 */
export async function reclone(gitdir: string, transport: Transport, unlessWhole?: () => boolean): Promise<{ commit: string; kept: string | null }> {
  const head = (await transport.listRefs()).get(MAIN);
  if (!head) throw new Error(`${transport.display} has no ${MAIN}`);
  // Named apart from every other reclone, of this process too: two at once must not share (or remove) a folder.
  const fresh = `${gitdir}.new-${process.pid}-${mathRandomHex(4)}`;
  try {
    const commit = await shallowClone(fresh, transport, head, {});
    // A clone that went missing may be back by now (another process of this node cloned it again meanwhile): it is
    // kept, and this copy goes, rather than a good clone moved aside as damaged.
    if (unlessWhole?.()) {
      await rm(fresh, { recursive: true, force: true });
      return { commit, kept: null };
    }
    // The home removed while this copy was made (rm -rf takes clone.git before node.yaml): not put back into it.
    if (homeGoneFor(gitdir)) {
      await rm(fresh, { recursive: true, force: true });
      // The folder the copy itself made again, empty now: no home (rmdir removes only an empty one).
      try {
        fs.rmdirSync(dirname(gitdir));
      } catch {
        // Not empty (a home after all, or files of another process): left as it is.
      }
      throw new NoBusError(dirname(gitdir));
    }
    let kept: string | null = null;
    if (fs.existsSync(gitdir)) {
      kept = `${gitdir}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}-${mathRandomHex(2)}`;
      await rename(gitdir, kept);
    }
    await rename(fresh, gitdir);
    return { commit, kept };
  } catch (err) {
    await rm(fresh, { recursive: true, force: true });
    throw err;
  }
}
