import { fs } from '../node-fs.js';
import { join } from 'node:path';
import { ARCHIVE_INDEX_FOLDER, archiveShardOf, indexEntriesFor } from '../../schemas/archive-index.js';
import { TASK_ID_RE } from '../../schemas/ids.js';
import { writeLooseObjectIfNew } from '../git/loose-object.js';
import { TarReadError, type TarEntry } from '../git/tar-read.js';
import { UploadArchiveError, uploadArchive } from '../git/upload-archive.js';
import type { BusRepo } from '../repo.js';
import { encodeTree } from '../store/encode.js';
import type { TreeEntry } from '../store/objects.js';
import type { PathReadStats } from './path-read.js';

/** Where an archived task's folders are: what a lookup needs to read its files. */
export interface ArchivedFolders {
  month: string;
  /** The task folder's tree. */
  task: string;
  /** Its signature folder's tree, or null. */
  signatures: string | null;
}

/** How long a remote's refusal to run git-upload-archive is remembered (the host's setup may change). */
const REFUSAL_MEMORY_MS = 6 * 60 * 60 * 1000;
const REFUSAL_FILE = 'gitbus-archive-upload-archive';
/**
 * What the last lookups found, for the archive tip they were made at: `tip <oid>`, then `<id> <month> <task> <sig|->`
 * per id found, `<id> -` per id the index lacks (read by path, which keeps what it reads: a dependency on a task
 * that is nowhere then costs no exchange per watcher wake).
 */
const MEMO_FILE = 'gitbus-archive-found';
/** upload-archive takes at most 64 arguments; two are the format and the tree-ish. */
const MAX_PATHSPECS = 60;
/** Ids the index lacks are asked for again without them at most this often per batch; then read by path. */
const MAX_MISSES = 2;
const MISS_RE = /pathspec '([a-z0-9_-]+)\.\*' did not match/;
const NO_TREE_RE = /not a valid object name/;
/** Ids in more shards than this are read by path: one upload-pack exchange per level for all of them. */
const MAX_SHARDS = 8;

/**
 * Finds archived tasks in one `git upload-archive` exchange (the service behind `git archive --remote`): the
 * tree-ish `refs/heads/archive:ids` with the pathspec `<hh>/<id>.*` gets the task's index folders `<id>.<yyyy-mm>/`
 * and `<id>.<yyyy-mm>.sig/` as a tar. git walks the path itself (root, `ids`, the shard) and reads nothing else,
 * where upload-pack needs one exchange per level and its pack-objects parses every child of each wanted tree
 * (every month folder, every shard: docs/PERFORMANCE.md). The folders are rebuilt here as git objects (the same
 * blobs and trees, so the same ids) and written loose into the clone; what each lookup found is remembered for
 * the archive tip, so asking again costs nothing until the archive moves.
 *
 * Served by a local remote and by SSH hosts that run git's own commands (git-shell included); not by smart HTTP,
 * nor by GitHub. A host that does not run it is remembered for 6 hours, and the caller reads by path
 * (bus/archive/path-read.ts), as it does for any id the index lacks.
 */
export class UploadArchiveReader {
  readonly stats: PathReadStats = { requests: 0, objects: 0 };

  constructor(private readonly repo: Pick<BusRepo, 'transport' | 'gitdir' | 'hasObject'>) {}

  /** Whether to try at all: the transport can run the service and the remote did not refuse it recently. */
  usable(now = Date.now()): boolean {
    if (!this.repo.transport.uploadArchive) return false;
    try {
      return now - fs.statSync(join(this.repo.gitdir, REFUSAL_FILE)).mtimeMs >= REFUSAL_MEMORY_MS;
    } catch {
      return true;
    }
  }

  /**
   * The folders of those of `ids` that the archive's index has, at tip `tip` (or later: the service reads the
   * ref as it is then, and archived folders never change). Ids left out are for the caller to read by path;
   * null when the service is not to be used at all.
   */
  async find(tip: string, ids: readonly string[]): Promise<Map<string, ArchivedFolders> | null> {
    const { found: out, lacking } = await this.remembered(tip, ids);
    const asked = ids.filter((id) => !out.has(id) && !lacking.has(id) && TASK_ID_RE.test(id));
    if (asked.length === 0) return out;
    if (!this.usable()) return out.size > 0 ? out : null;
    const byShard = new Map<string, string[]>();
    for (const id of asked) byShard.set(archiveShardOf(id), [...(byShard.get(archiveShardOf(id)) ?? []), id]);
    // One exchange per shard: the shard as the tree-ish is what keeps git's walk short (below).
    if (byShard.size > MAX_SHARDS) return out.size > 0 ? out : null;
    const learned = new Map<string, ArchivedFolders | null>();
    for (const [shard, list] of byShard) {
      for (let i = 0; i < list.length; i += MAX_PATHSPECS) {
        const got = await this.batch(shard, list.slice(i, i + MAX_PATHSPECS));
        if (got === null) break;
        for (const [id, f] of got) learned.set(id, f);
      }
      if (!this.usable()) break;
    }
    if (learned.size === 0 && out.size === 0 && !this.usable()) return null;
    for (const [id, f] of learned) if (f) out.set(id, f);
    if (learned.size > 0) this.remember(tip, learned);
    return out;
  }

  /**
   * One batch of ids of one shard, asked again without ids the index lacks (git names the first pathspec that
   * matched nothing). The tree-ish is the shard itself: with `refs/heads/archive:ids` and `<hh>/<id>.*` git 2.39
   * reads every shard (1 s of CPU at 100,000 tasks, measured), with the shard it reads only the path to it.
   */
  private async batch(shard: string, ids: string[]): Promise<Map<string, ArchivedFolders | null> | null> {
    let left = ids;
    const lacking = new Map<string, null>();
    for (let misses = 0; left.length > 0 && misses <= MAX_MISSES; misses++) {
      let entries: TarEntry[];
      this.stats.requests++;
      try {
        entries = await uploadArchive(this.repo.transport, `refs/heads/archive:${ARCHIVE_INDEX_FOLDER}/${shard}`, left.map((id) => `${id}.*`));
      } catch (err) {
        if (err instanceof UploadArchiveError && !err.served) {
          this.rememberRefusal(err.said);
          return null;
        }
        const miss = err instanceof UploadArchiveError ? MISS_RE.exec(err.said) : null;
        if (miss) {
          left = left.filter((id) => id !== miss[1]);
          lacking.set(miss[1] as string, null);
          continue;
        }
        // No such shard (or no index at all): none of these ids is in the index.
        if (err instanceof UploadArchiveError && NO_TREE_RE.test(err.said)) return new Map([...lacking, ...left.map((id) => [id, null] as const)]);
        // No index, a broken archive, a cut-off stream: path reads find out properly.
        if (err instanceof UploadArchiveError || err instanceof TarReadError) return null;
        // A host that drops the channel or never answers this command (a timeout): not asked again for a while;
        // if the connection itself is down, path reads say so.
        this.rememberRefusal(err instanceof Error ? err.message : String(err));
        return null;
      }
      // An id whose folders could not be rebuilt is read by path from now on, like one the index lacks.
      const stored = await this.store(left, entries);
      return new Map([...lacking, ...left.map((id) => [id, stored.get(id) ?? null] as const)]);
    }
    // Too many misses in one batch: the rest are read by path too.
    return new Map([...lacking, ...left.map((id) => [id, null] as const)]);
  }

  /** Writes the folders of `ids` found in `entries` (paths in the shard) into the clone; ids whose folders cannot be rebuilt are left out. */
  private async store(ids: readonly string[], entries: readonly TarEntry[]): Promise<Map<string, ArchivedFolders>> {
    // Index folder name -> its direct entries; a folder with anything below a subfolder, or anything but files and
    // symbolic links, is not rebuilt (path reads show it as git has it).
    const folders = new Map<string, TreeEntry[]>();
    const broken = new Set<string>();
    for (const e of entries) {
      const [folder = '', name, ...deeper] = e.path.split('/');
      if (name === undefined) {
        if (e.kind === 'directory') folders.set(folder, folders.get(folder) ?? []);
        else broken.add(folder);
        continue;
      }
      if (deeper.length > 0 || (e.kind !== 'file' && e.kind !== 'symlink') || name === '') {
        broken.add(folder);
        continue;
      }
      const oid = await this.write('blob', e.content);
      const mode = e.kind === 'symlink' ? '120000' : e.mode & 0o111 ? '100755' : '100644';
      folders.set(folder, [...(folders.get(folder) ?? []), { mode, path: name, oid, type: 'blob' }]);
    }
    const out = new Map<string, ArchivedFolders>();
    for (const id of ids) {
      const entry = indexEntriesFor(id, [...folders.keys()])[0];
      if (!entry) continue;
      const tree = async (name: string | null): Promise<string | null | undefined> => {
        if (name === null) return null;
        const list = folders.get(name);
        return !list || list.length === 0 || broken.has(name) ? undefined : this.write('tree', encodeTree(list));
      };
      const task = await tree(entry.task);
      const signatures = await tree(entry.signatures);
      // A signature folder that cannot be rebuilt would lose signatures: the whole task is read by path then.
      if (!task || signatures === undefined) continue;
      out.set(id, { month: entry.month, task, signatures });
    }
    return out;
  }

  private async write(type: 'blob' | 'tree', content: Uint8Array): Promise<string> {
    const { oid, created } = await writeLooseObjectIfNew(fs, this.repo.gitdir, type, content);
    if (created) this.stats.objects++;
    return oid;
  }

  /** What earlier lookups found at this tip, where the clone still holds the folders. */
  private async remembered(tip: string, ids: readonly string[]): Promise<{ found: Map<string, ArchivedFolders>; lacking: Set<string> }> {
    const found = new Map<string, ArchivedFolders>();
    const lacking = new Set<string>();
    const memo = readMemo(this.repo.gitdir, tip);
    for (const id of ids) {
      const f = memo.get(id);
      if (f === null) lacking.add(id);
      else if (f && (await this.repo.hasObject(f.task)) && (f.signatures === null || (await this.repo.hasObject(f.signatures)))) found.set(id, f);
    }
    return { found, lacking };
  }

  private remember(tip: string, learned: Map<string, ArchivedFolders | null>): void {
    const all = readMemo(this.repo.gitdir, tip);
    for (const [id, f] of learned) all.set(id, f);
    const text = `tip ${tip}\n${[...all].map(([id, f]) => (f ? `${id} ${f.month} ${f.task} ${f.signatures ?? '-'}\n` : `${id} -\n`)).join('')}`;
    const path = join(this.repo.gitdir, MEMO_FILE);
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      // Whole or not at all, for the other processes of the node; a lost race loses a hint, not a lookup.
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, path);
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  }

  private rememberRefusal(said: string): void {
    try {
      fs.writeFileSync(join(this.repo.gitdir, REFUSAL_FILE), `${said}\n`);
    } catch {
      // Only a hint: the next process asks the remote again.
    }
  }
}

/** The memo for `tip`; empty when it was written for another tip (the archive moved: ask again). */
function readMemo(gitdir: string, tip: string): Map<string, ArchivedFolders | null> {
  const out = new Map<string, ArchivedFolders | null>();
  let text: string;
  try {
    text = fs.readFileSync(join(gitdir, MEMO_FILE), 'utf8');
  } catch {
    return out;
  }
  const lines = text.split('\n');
  if (lines[0] !== `tip ${tip}`) return out;
  for (const line of lines.slice(1)) {
    if (/^[a-z0-9_-]+ -$/.test(line)) out.set(line.slice(0, -2), null);
    const m = /^([a-z0-9_-]+) ([0-9]{4}-[0-9]{2}) ([0-9a-f]{40}) ([0-9a-f]{40}|-)$/.exec(line);
    if (m) out.set(m[1] as string, { month: m[2] as string, task: m[3] as string, signatures: m[4] === '-' ? null : (m[4] as string) });
  }
  return out;
}
