import { join } from 'node:path';
import { withLock } from '../lock.js';
import { readFile, rename, rm, writeFile } from '../node-fs-async.js';

/**
 * `gitdir/shallow`: one oid per line, the commits whose parents this repository does not have. git and
 * isomorphic-git both read it; an empty set means the file is absent.
 */
export async function readShallow(gitdir: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(join(gitdir, 'shallow'), 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return new Set();
    throw err;
  }
  return new Set(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[0-9a-f]{40}$/.test(l)),
  );
}

/** Replace the file atomically (a reader never sees half a list), or remove it when the set is empty. */
export async function writeShallow(gitdir: string, oids: ReadonlySet<string>): Promise<void> {
  const path = join(gitdir, 'shallow');
  if (oids.size === 0) {
    await rm(path, { force: true });
    return;
  }
  const tmp = `${path}.gitbus-${process.pid}-${Date.now().toString(36)}`;
  try {
    await writeFile(tmp, [...oids].sort().join('\n') + '\n');
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * Adds and removes entries of the shallow list under git's lock for it (`shallow.lock`), as every writer of this
 * node does (a fetch, the clone's housekeeping), since other processes of the node change it too. Returns how many
 * of `add` were new.
 */
export async function updateShallow(gitdir: string, add: Iterable<string>, remove: Iterable<string> = []): Promise<number> {
  return withLock(join(gitdir, 'shallow.lock'), async () => {
    const current = await readShallow(gitdir);
    const next = new Set(current);
    for (const oid of remove) next.delete(oid);
    let added = 0;
    for (const oid of add) {
      if (next.has(oid)) continue;
      next.add(oid);
      added++;
    }
    if (next.size !== current.size || [...next].some((o) => !current.has(o))) await writeShallow(gitdir, next);
    return added;
  });
}
