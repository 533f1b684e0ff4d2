import type * as NodeFs from 'node:fs';
import { join } from 'node:path';
import { FetchFailedError } from './fetch-errors.js';
import { writeLooseObject } from './loose-object.js';
import { readPackIndexOids } from './pack-index.js';
import { readPackObjects } from './pack-read.js';
import { readFile, rm } from '../node-fs-async.js';

/** Packs with fewer objects than this are turned into loose objects after a fetch. */
export const EXPLODE_BELOW_OBJECTS = 1000;

/**
 * Writes every object of a pack (its bytes, checksum already verified) as a loose object into `gitdir`, reading
 * the pack once, in order (bus/git/pack-read.ts): no index is built and no object is looked up again. Returns the
 * oids written. `where` names the pack in errors.
 */
export async function writePackLoose(fs: typeof NodeFs, gitdir: string, pack: Uint8Array, where: string): Promise<string[]> {
  const oids: string[] = [];
  for (const obj of readPackObjects(pack, where)) {
    const written = await writeLooseObject(fs, gitdir, obj.type, obj.content);
    if (written !== obj.oid) throw new FetchFailedError(`object ${obj.oid} from ${where} hashed to ${written} when written loose`, { oid: obj.oid, written, where });
    oids.push(written);
  }
  return oids;
}

/**
 * Turn `objects/pack/<name>.pack` (with its .idx) into loose objects (in `into`, default the same gitdir) and
 * delete the pack.
 *
 * Why: isomorphic-git looks an object up by listing objects/pack and consulting every .idx it finds, and keeps
 * every index it ever loaded in the cache. A node that fetches every few seconds would collect thousands of tiny
 * packs and get slower with each. Loose objects cost one stat each. (`git gc` on the clone, if ever run, packs
 * them again properly.)
 *
 * The pack is read once, in order (writePackLoose), and every object the .idx lists must be among those written.
 * All loose objects are written before the .idx, then the .pack, are removed: a crash in between leaves both
 * copies, never neither.
 */
export async function explodePack(args: { fs: typeof NodeFs; gitdir: string; packName: string; into?: string }): Promise<string[]> {
  const { fs, gitdir, packName } = args;
  const into = args.into ?? gitdir;
  const base = join(gitdir, 'objects', 'pack', packName);
  const idxPath = `${base}.idx`;
  const oids = readPackIndexOids(new Uint8Array(await readFile(idxPath)), idxPath);
  const written = new Set(await writePackLoose(fs, into, await readFile(`${base}.pack`), packName));
  for (const oid of oids) if (!written.has(oid)) throw new FetchFailedError(`could not read ${oid} from ${packName}`, { oid, packName });
  await rm(idxPath, { force: true });
  await rm(`${base}.pack`, { force: true });
  return oids;
}
