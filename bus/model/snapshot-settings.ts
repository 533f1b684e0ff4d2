import { parseSettingsFile } from '../../schemas/bus-file.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { tooLargeProblem } from '../../schemas/file-text.js';
import type { ObjectStore } from '../store/objects.js';
import { keepSettingsOnDisk, settingsOnDisk } from './settings-disk-cache.js';
import { settingsCache } from './snapshot-memos.js';
import type { FileRef } from './types.js';

/**
 * gitbus.yaml at `ref` as a snapshot reads it (Snapshot.read): from memory (an entry per version of it a long-lived
 * process meets), else from the node's settings cache (settings-disk-cache.ts), else parsed from its blob and kept
 * there.
 */
export async function settingsFileAt(store: ObjectStore, ref: FileRef): Promise<ReturnType<typeof parseSettingsFile>> {
  let r = settingsCache.get(ref.oid);
  if (!r) {
    r = settingsOnDisk(store.gitdir, ref.oid);
    if (!r) {
      // Above the limit it is not read (as any bus file): a blob over the object cap pushed as gitbus.yaml would
      // otherwise stop every read of the bus, on every node.
      const bytes = await store.readBlobUpTo(ref.oid, MAX_FILE_BYTES);
      r = typeof bytes === 'number' ? { ok: false, problems: [{ ...tooLargeProblem(ref.path, bytes), fix: 'make gitbus.yaml a few lines of settings again (docs/PROTOCOL.md §3); defaults are used until then' }] } : parseSettingsFile(bytes);
      keepSettingsOnDisk(store.gitdir, ref.oid, r);
    }
    // Few, but never more than a handful kept.
    if (settingsCache.size >= 8) settingsCache.clear();
    settingsCache.set(ref.oid, r);
  }
  return r;
}
