import type * as NodeFs from 'node:fs';
import { join } from 'node:path';
import { FetchFailedError } from './fetch-errors.js';
import { writeLooseObject } from './loose-object.js';
import { isoGit } from './iso-git.js';
import { readPackIndexOids } from './pack-index.js';

/** Packs with fewer objects than this are turned into loose objects after a fetch. */
export const EXPLODE_BELOW_OBJECTS = 1000;

/**
 * Turn `objects/pack/<name>.pack` (with its .idx) into loose objects (in `into`, default the same gitdir) and
 * delete the pack.
 *
 * Why: isomorphic-git looks an object up by listing objects/pack and consulting every .idx it finds, and keeps
 * every index it ever loaded in the cache. A node that fetches every few seconds would collect thousands of tiny
 * packs and get slower with each. Loose objects cost one stat each. (`git gc` on the clone, if ever run, packs
 * them again properly.)
 *
 * The objects are read through a private cache so the shared one never holds the soon-deleted pack, and written
 * with writeLooseObject (atomic, node:zlib; see there why not isomorphic-git's writeObject). All loose objects
 * are written before the .idx, then the .pack, are removed: a crash in between leaves both copies, never neither.
 */
export async function explodePack(args: { fs: typeof NodeFs; gitdir: string; packName: string; into?: string }): Promise<string[]> {
  const { fs, gitdir, packName } = args;
  const into = args.into ?? gitdir;
  const base = join(gitdir, 'objects', 'pack', packName);
  const idxPath = `${base}.idx`;
  const oids = readPackIndexOids(new Uint8Array(await fs.promises.readFile(idxPath)), idxPath);
  const privateCache = {};
  const { readObject } = await isoGit();
  for (const oid of oids) {
    const obj = await readObject({ fs, gitdir, oid, format: 'content', cache: privateCache });
    if (obj.format !== 'content') throw new FetchFailedError(`could not read ${oid} from ${packName}`, { oid, packName });
    const written = await writeLooseObject(fs, into, obj.type, obj.object);
    if (written !== oid) {
      throw new FetchFailedError(`object ${oid} from ${packName} hashed to ${written} when written loose`, { oid, written, packName });
    }
  }
  await fs.promises.rm(idxPath, { force: true });
  await fs.promises.rm(`${base}.pack`, { force: true });
  return oids;
}
