import { fs } from '../node-fs.js';
import { inflateObject } from '../git/object-inflate.js';
import { storedMax } from '../git/object-deflate.js';
import { deflateStored } from '../git/zlib-stored.js';
import { committedAt } from '../store/commit-time.js';
import { gitObjectId, writeObjectFile, type GitObjectType } from '../git/loose-object.js';
import { ObjectTooLargeError } from '../local-io.js';
import { looseHeader, MAX_OBJECT_BYTES, readLoose } from '../store/loose-read.js';
import { decodeTree } from '../store/encode.js';
import { treeDiff } from '../store/tree-diff.js';
import type { TreeEntry } from '../store/objects.js';
import { objectFile } from '../git/object-path.js';
import { parentsFirst } from '../git/parents-first.js';

// The fetch half of the direct path for a local remote (bus/transport/local-direct.ts has why, and the push half).

/**
 * How much history a fetch brings (git's `--shallow-since`): no commit committed before `since` (Unix seconds) is
 * copied; `cut` receives the commits whose parents were left out for it, which the caller names in the clone's
 * shallow list once it knows the history it got will do.
 */
export interface HistorySince {
  /** Asked only when a commit's parent is new to the clone: a fetch of one commit on top of the clone's needs none. */
  since: () => Promise<number | undefined>;
  cut: string[];
}

/**
 * Copies the objects of `want` and its new ancestors from the remote's loose objects. Returns false, having
 * changed nothing that matters, when an object is not loose there (the remote was repacked): the caller then
 * fetches through upload-pack. Objects are written children first, so an object present locally is complete.
 *
 * Each new tree is compared with the same folder in the commit before it (its first parent), when the clone holds
 * that folder as a loose object, by their bytes (store/tree-diff.ts): an entry alike there is in the clone already,
 * complete, and is not asked about. A bus keeps its live tasks side by side in one folder, so asking about every
 * entry of a changed folder cost a file system check per live task for every commit fetched (issue 14: "no command
 * may cost more as the bus grows"). `kept` is told each new tree with its bytes: the snapshot of the new commit
 * need not read them again, and decodes only what it reads (a derived status: the entries of a few tasks).
 */
export async function directFetch(remote: string, local: string, want: string, has: (oid: string) => Promise<boolean>, kept?: (oid: string, bytes: Buffer) => void, history?: HistorySince): Promise<boolean> {
  // The new commits, found newest first by following parents until known ones; written parents first
  // (bus/git/parents-first.ts), so a commit is only ever present together with its history.
  const chain: { oid: string; raw: Buffer; tree: string; parent: string | null; parents: string[] }[] = [];
  const seen = new Set<string>();
  const stack = [want];
  // Commits read to see their time (history.since), kept for when the walk reaches them.
  const read = new Map<string, ReturnType<typeof readObject>>();
  const readCommit = (oid: string) => (read.has(oid) ? read.get(oid) : readObject(remote, oid)) ?? null;
  while (stack.length > 0) {
    const oid = stack.pop() as string;
    if (seen.has(oid) || (await has(oid))) continue;
    seen.add(oid);
    const obj = readCommit(oid);
    if (!obj || obj.type !== 'commit') return false;
    const head = obj.content.toString('latin1', 0, Math.min(obj.content.length, 4096));
    const tree = /^tree ([0-9a-f]{40})/m.exec(head)?.[1];
    if (!tree) return false;
    const parents = [...head.matchAll(/^parent ([0-9a-f]{40})/gm)].map((m) => m[1] as string);
    chain.push({ oid, raw: obj.raw, tree, parent: parents[0] ?? null, parents });
    let cut = false;
    for (const p of parents) {
      if (history && !seen.has(p) && !(await has(p))) {
        const parent = readCommit(p);
        read.set(p, parent);
        const at = parent?.type === 'commit' ? committedAt(parent.content) : null;
        const since = at === null ? undefined : await history.since();
        if (at !== null && since !== undefined && at < since) {
          cut = true;
          continue;
        }
      }
      stack.push(p);
    }
    if (cut) history?.cut.push(oid);
  }
  const done = new Set<string>();
  /** Trees copied here, by id: the base of the next commit's folders. */
  const trees = new Map<string, Buffer>();
  const copyTree = async (oid: string, blob = false, base: string | null = null): Promise<boolean> => {
    if (done.has(oid)) return true;
    if (await has(oid)) {
      // Asked once: the next commit's tree names most of the same objects.
      done.add(oid);
      return true;
    }
    if (blob) {
      // Copied as the remote stores it, never inflated: a blob of gigabytes of zeros is a few megabytes on disk, and
      // whoever reads it later reads it with a cap (bus/store/loose-read.ts).
      const raw = readRaw(remote, oid);
      if (!raw) return false;
      writeObjectFile(fs, local, oid, raw);
      done.add(oid);
      return true;
    }
    const obj = readObject(remote, oid);
    if (!obj) return false;
    if (obj.type === 'tree') {
      // Only what the base does not hold as it is: the trees' bytes compared (tree-diff.ts), or, when they cannot be
      // walked by name, every entry asked about. Only then is the whole tree decoded.
      const baseBytes = base === null ? null : (trees.get(base) ?? (await localTree(local, base)));
      const differ = baseBytes === null ? null : treeDiff(baseBytes, obj.content);
      let entries: TreeEntry[] | undefined = differ?.after;
      if (!entries) {
        try {
          entries = decodeTree(obj.content);
        } catch {
          return false; // not a tree's encoding, though it hashes to its name: upload-pack says what is wrong
        }
      }
      kept?.(oid, obj.content);
      for (const e of entries) {
        // Submodule entries name commits of other repositories; there is nothing to copy.
        if (e.type === 'commit') continue;
        // A folder changed in place is compared with its earlier self. Only an object the base holds is in the
        // clone: a submodule entry's id is not, whatever it names, and an entry of another kind (a folder where a
        // file was) is not what the base's completeness speaks for.
        const was = e.type === 'tree' ? differ?.before.find((b) => b.path === e.path && b.type === 'tree') : undefined;
        if (!(await copyTree(e.oid, e.type === 'blob', was ? was.oid : null))) return false;
      }
      trees.set(oid, obj.content);
    }
    writeObjectFile(fs, local, oid, obj.raw);
    done.add(oid);
    return true;
  };
  const treeOf = new Map(chain.map((c) => [c.oid, c.tree]));
  for (const commit of parentsFirst(chain)) {
    const parentTree = commit.parent === null ? null : (treeOf.get(commit.parent) ?? (await localCommitTree(local, commit.parent)));
    if (!(await copyTree(commit.tree, false, parentTree))) return false;
    writeObjectFile(fs, local, commit.oid, commit.raw);
  }
  return true;
}

/** A tree of the clone, when it is a loose object there (a clone's first pack, from join, is not read here). */
async function localTree(local: string, oid: string): Promise<Buffer | null> {
  const obj = await readLocal(local, oid);
  return obj?.type === 'tree' ? obj.content : null;
}

/** The tree of a commit of the clone, when the commit is a loose object there. */
async function localCommitTree(local: string, oid: string): Promise<string | null> {
  const obj = await readLocal(local, oid);
  if (obj?.type !== 'commit') return null;
  return /^tree ([0-9a-f]{40})/.exec(obj.content.toString('latin1', 0, 46))?.[1] ?? null;
}

/** An object of the clone, read as the clone's readers read it (its name is not hashed again: the clone wrote it). */
async function readLocal(local: string, oid: string): Promise<{ type: string; content: Buffer } | null> {
  try {
    return await readLoose(local, oid);
  } catch {
    return null; // damaged or too large: no base, which only costs the checks the base would have saved
  }
}

/**
 * A commit or tree of the remote, inflated to be walked, with the file's bytes as the remote stores them: those are
 * what the clone gets (deflating them again cost a watcher woken by every push of a busy bus a third of its CPU,
 * issue 14), but for one git compressed, which gets the stored stream gitbus writes (a copy, no deflate). Null, as for an object that is not loose there, when the file is not git's encoding of what its name
 * says: the caller then fetches through git, which says what is wrong, rather than a damaged object entering the
 * clone. The content's hash alone does not show that: the bytes copied are the file's, so a header that misstates
 * the size (the clone's reader calls that damaged) or bytes after the stream (git does) would be copied with it.
 */
function readObject(gitdir: string, oid: string): { type: GitObjectType; content: Buffer; raw: Buffer } | null {
  const raw = readRaw(gitdir, oid);
  if (!raw) return null;
  // A commit or tree is small; one that claims more is refused by name before anything is inflated.
  const h = looseHeader(raw);
  if (!h) return null;
  if (h.size > MAX_OBJECT_BYTES) throw new ObjectTooLargeError(gitdir, oid, h.size, MAX_OBJECT_BYTES);
  let data: Buffer;
  let consumed: number;
  let stored: boolean;
  try {
    // `used`: how much of the file the stream took, to tell bytes after it.
    ({ data, used: consumed, stored } = inflateObject(raw, h.size + h.headerBytes));
  } catch {
    return null; // cut short, or more content than its header says
  }
  if (consumed !== raw.length || data.length !== h.size + h.headerBytes) return null;
  const type = h.type as GitObjectType;
  const content = data.subarray(h.headerBytes);
  if (!data.subarray(0, h.headerBytes).equals(Buffer.from(`${type} ${content.length}\0`, 'latin1'))) return null; // "tree 012": not git's
  if (gitObjectId(type, content) !== oid) return null;
  // A commit or tree git compressed (a node that pushes through git's services, over SSH or HTTP) goes into the
  // clone stored, as gitbus writes its own: every later command reads it, and would load node:zlib to (issue 14).
  const kept = stored || data.length > storedMax(type) ? raw : deflateStored(data);
  return { type, content, raw: kept };
}


function readRaw(gitdir: string, oid: string): Buffer | null {
  try {
    return fs.readFileSync(objectFile(gitdir, oid));
  } catch {
    return null;
  }
}
