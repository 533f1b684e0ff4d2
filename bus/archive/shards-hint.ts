import { ARCHIVE_INDEX_COMPLETE, ARCHIVE_INDEX_FOLDER, ARCHIVE_SHARD_RE } from '../../schemas/archive-index.js';
import { ARCHIVE_SHARDS_PATH, MAX_ARCHIVE_SHARDS_FILE, parseArchiveShards, renderArchiveShards, type ArchiveShards } from '../../schemas/archive-shards.js';
import type { BusContext } from '../context.js';
import { ARCHIVE } from '../repo.js';
import type { FileChange, ObjectStore, TreeEntry } from '../store/objects.js';

/**
 * `archive-shards` in main (schemas/archive-shards.ts): written by `gitbus archive` with its removal from main, read
 * by a lookup of an archived task before it walks the archive's trees.
 */

/** What the archive's `ids` tree lists: its shards' trees, and whether it holds `complete`. */
export function indexOf(entries: readonly TreeEntry[]): Pick<ArchiveShards, 'shards' | 'complete'> {
  return {
    shards: new Map(entries.filter((e) => e.type === 'tree' && ARCHIVE_SHARD_RE.test(e.path)).map((e) => [e.path, e.oid] as const)),
    complete: entries.some((e) => e.path === ARCHIVE_INDEX_COMPLETE && e.type === 'blob'),
  };
}

/** The shards of archive commit `commit`, from its trees in the clone (the archive step just wrote them); null when they are not there. */
export async function shardsOfArchive(store: ObjectStore, commit: string): Promise<ArchiveShards | null> {
  try {
    const ids = (await store.readTree(await store.readCommitTree(commit))).find((e) => e.path === ARCHIVE_INDEX_FOLDER && e.type === 'tree');
    return ids ? { archive: commit, ...indexOf(await store.readTree(ids.oid)) } : null;
  } catch {
    return null;
  }
}

/** Main's entry at the note's path, whatever it is, or undefined. */
async function noteEntry(store: ObjectStore, commit: string | null): Promise<TreeEntry | undefined> {
  return commit === null ? undefined : (await store.readTree(await store.readCommitTree(commit))).find((e) => e.path === ARCHIVE_SHARDS_PATH);
}

/** The note's text, when main's commit has one as a file (not a folder or link someone committed at its path). */
async function noteText(store: ObjectStore, entry: TreeEntry | undefined): Promise<string | null> {
  if (entry === undefined || entry.type !== 'blob' || (entry.mode !== '100644' && entry.mode !== '100755')) return null;
  return Buffer.from(await store.readBlob(entry.oid, MAX_ARCHIVE_SHARDS_FILE)).toString('utf8');
}

/** The file as main's commit `commit` has it, parsed; null when it has none or it is not the format. */
export async function shardsInMain(store: ObjectStore, commit: string | null): Promise<ArchiveShards | null> {
  try {
    const text = await noteText(store, await noteEntry(store, commit));
    return text === null ? null : parseArchiveShards(text);
  } catch {
    // Too large, or an object this clone lacks: the archive is read by path.
    return null;
  }
}

/**
 * The change that makes main's file say `shards`; none when it says so already, or when something other than a
 * file is at its path (a folder, a link someone committed): the note is only a hint, and archiving never fails for it.
 */
export async function shardsChange(store: ObjectStore, mainCommit: string | null, shards: ArchiveShards): Promise<FileChange[]> {
  const entry = await noteEntry(store, mainCommit);
  const text = renderArchiveShards(shards);
  if (entry === undefined) return [{ path: ARCHIVE_SHARDS_PATH, content: text }];
  let now: string | null;
  try {
    now = await noteText(store, entry);
  } catch {
    // Larger than a note: replaced.
    now = '';
  }
  return now === null || now === text ? [] : [{ path: ARCHIVE_SHARDS_PATH, content: text }];
}

/**
 * Main's note for the archive's tip as the remote has it now, asked at each compare-and-swap attempt: with two nodes
 * archiving at once, whichever writes main last names the tip both left. Nothing when the tip's trees are not in this
 * clone (another node's commit this one never read): main keeps the note it has, which readers ignore once it names
 * another commit.
 */
export async function shardsNote(ctx: BusContext, mainCommit: string | null): Promise<FileChange[]> {
  const tip = await ctx.repo.remoteHead(ARCHIVE);
  const shards = tip === null ? null : await shardsOfArchive(ctx.repo.store, tip);
  return shards === null ? [] : shardsChange(ctx.repo.store, mainCommit, shards);
}
