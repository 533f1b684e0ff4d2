import * as fs from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { explodePack } from './git/explode-pack.js';
import { MAIN } from './repo.js';
import { httpPluginFor, TRANSPORT_URL } from './transport/http-plugin.js';
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
 * A depth-1 clone of the remote's main into a new bare `gitdir` (what `join` makes): through isomorphic-git and
 * the transport's http plugin; later updates use the lean fetch. Returns the commit of main.
 */
export async function shallowClone(gitdir: string, transport: Transport, head: string, cache: object): Promise<string> {
  await git.init({ fs, gitdir, bare: true, defaultBranch: 'main' });
  // isomorphic-git records fetched refs under a named remote; the URL is the plugin's placeholder.
  await git.addRemote({ fs, gitdir, remote: 'origin', url: TRANSPORT_URL, force: true });
  const fetched = await git.fetch({ fs, http: httpPluginFor(transport), gitdir, remote: 'origin', ref: 'main', singleBranch: true, depth: 1, tags: false, cache });
  const commit = fetched.fetchHead ?? head;
  await git.writeRef({ fs, gitdir, ref: MAIN, value: commit, force: true });
  await explodePacks(gitdir);
  return commit;
}

/**
 * Replaces a node's clone that cannot be repaired object by object (missing, or damaged beyond what fetching
 * main again fixes) with a fresh depth-1 clone. Only the clone changes: node.yaml, logs, the outbox stay. The
 * old clone is kept beside it as `clone.git.damaged-<time>` for a person to look at (or delete).
 */
export async function reclone(gitdir: string, transport: Transport): Promise<{ commit: string; kept: string | null }> {
  const head = (await transport.listRefs()).get(MAIN);
  if (!head) throw new Error(`${transport.display} has no ${MAIN}`);
  const fresh = `${gitdir}.new-${process.pid}`;
  await rm(fresh, { recursive: true, force: true });
  try {
    const commit = await shallowClone(fresh, transport, head, {});
    let kept: string | null = null;
    if (fs.existsSync(gitdir)) {
      kept = `${gitdir}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await rename(gitdir, kept);
    }
    await rename(fresh, gitdir);
    return { commit, kept };
  } catch (err) {
    await rm(fresh, { recursive: true, force: true });
    throw err;
  }
}
