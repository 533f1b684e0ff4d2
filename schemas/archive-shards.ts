import { ARCHIVE_SHARD_RE } from './archive-index.js';
import type { FileProblem } from './errors.js';

/**
 * `archive-shards` in `main` (docs/PROTOCOL.md §7, "Where the shards are"): the archive commit a node archived to,
 * whether its id index is complete, and the tree of each shard `ids/<hh>` in it. Every node has `main`, so a node
 * that never read the archive goes from an id straight to its shard: two exchanges with a host that does not run
 * git-upload-archive (the shard, then the task's folders) instead of four, and not the two whose trees are the
 * largest (the archive's root and `ids`, which the host parses whole for each). Only a hint: a reader uses it when
 * it names the archive's current tip, and reads the archive by its path otherwise or when it does not parse.
 * Pure: no I/O.
 */
export const ARCHIVE_SHARDS_PATH = 'archive-shards';

/** The first line: what the file is, and its format's version. */
const MAGIC = 'gitbus archive-shards 1';
const OID_RE = /^[0-9a-f]{40}$/;
/** 256 shards of ~44 bytes and a header: a file past this is not one gitbus wrote. */
export const MAX_ARCHIVE_SHARDS_FILE = 64 * 1024;

export interface ArchiveShards {
  /** The archive commit the shards are those of. */
  archive: string;
  /** `ids/complete` is in that commit: an id no shard has is not archived. */
  complete: boolean;
  /** Shard name (`00`..`ff`) -> its tree. */
  shards: Map<string, string>;
}

export function renderArchiveShards(s: ArchiveShards): string {
  const lines = [MAGIC, `archive ${s.archive}`, ...(s.complete ? ['complete'] : [])];
  for (const [name, oid] of [...s.shards].sort(([a], [b]) => (a < b ? -1 : 1))) lines.push(`${name} ${oid}`);
  return `${lines.join('\n')}\n`;
}

/** The file's content, or null when it is not this format (then it is ignored: the archive is read by path). */
export function parseArchiveShards(text: string): ArchiveShards | null {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== MAGIC) return null;
  const archive = /^archive ([0-9a-f]{40})$/.exec(lines[1] ?? '')?.[1];
  if (archive === undefined) return null;
  let complete = false;
  const shards = new Map<string, string>();
  for (const line of lines.slice(2)) {
    if (line === 'complete' && shards.size === 0 && !complete) {
      complete = true;
      continue;
    }
    const [name, oid, ...rest] = line.split(' ');
    if (name === undefined || oid === undefined || rest.length > 0 || !ARCHIVE_SHARD_RE.test(name) || !OID_RE.test(oid) || shards.has(name)) return null;
    shards.set(name, oid);
  }
  return { archive, complete, shards };
}

/**
 * What `gitbus lint archive-shards` says of the file: nothing when it is the note `gitbus archive` writes, else a
 * warning (readers ignore it and read the archive from its root; nothing is wrong with the bus). `size` is the
 * file's when only its first bytes were read: a file past the limit is judged by its size, not its content.
 */
export function archiveShardsProblems(path: string, content: Uint8Array, size = content.byteLength): FileProblem[] {
  const fix = `remove it (git rm ${ARCHIVE_SHARDS_PATH}): the next archive run writes it anew`;
  if (size > MAX_ARCHIVE_SHARDS_FILE) return [{ path, field: '', reason: `file is ${size} bytes; the note gitbus archive writes is at most ${MAX_ARCHIVE_SHARDS_FILE}, and readers ignore a larger one`, fix, severity: 'warning' }];
  if (parseArchiveShards(Buffer.from(content).toString('utf8')) !== null) return [];
  return [{ path, field: '', reason: `it is not the note of where the archive's shards are that gitbus archive writes (first line "${MAGIC}", then "archive <commit>", "complete", "<hh> <tree>" lines); readers ignore it`, fix, severity: 'warning' }];
}
