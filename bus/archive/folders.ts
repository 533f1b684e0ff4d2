import type { ObjectStore } from '../store/objects.js';
import type { ArchiveObjectSource } from './path-read.js';

/**
 * Brings every existing folder on the way to each of `files` (paths in the tree `rootTree`, which is here) into the
 * clone: the trees alone, one request per level. What a commit that changes those paths reads (bus/store/objects.ts
 * buildCommit), and nothing more.
 */
export async function ensureFolders(store: ObjectStore, source: ArchiveObjectSource, rootTree: string, files: readonly string[]): Promise<void> {
  const folders = new Set<string>();
  for (const f of files) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
  }
  const known = new Map<string, string>([['', rootTree]]);
  for (let depth = 1; ; depth++) {
    const here = [...folders].filter((p) => p.split('/').length === depth);
    if (here.length === 0) return;
    const found = new Map<string, string>();
    for (const p of here) {
      const cut = p.lastIndexOf('/');
      const parent = known.get(cut < 0 ? '' : p.slice(0, cut));
      if (!parent) continue;
      const entry = (await store.readTree(parent)).find((e) => e.path === p.slice(cut + 1) && e.type === 'tree');
      if (entry) found.set(p, entry.oid);
    }
    await source.ensure([...found.values()], 'tree:0');
    for (const [p, oid] of found) known.set(p, oid);
  }
}
