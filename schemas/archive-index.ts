import { nodeCrypto } from './node-crypto.js';
import { ARCHIVE_MONTH_RE } from './archive-layout.js';
import { SIGNATURES_FOLDER } from './signature-layout.js';
import { TASK_ID_RE } from './ids.js';

/**
 * The archive branch's id index (docs/PROTOCOL.md §7): besides `<yyyy-mm>/<id>/`, every archived task is also at
 * `ids/<hh>/<id>.<yyyy-mm>/` (the same tree object, so git stores it once), and its signature folder
 * `signatures/<yyyy-mm>/<id>/` at `ids/<hh>/<id>.<yyyy-mm>.sig/`. `hh` is the first two hex digits of the SHA-1 of
 * the id: 256 shards, so finding one task reads the root, the `ids` tree and one shard (about N/256 entries)
 * instead of every month folder. Readers that predate it look only at month folders and never see it.
 */
export const ARCHIVE_INDEX_FOLDER = 'ids';
const SIG_SUFFIX = '.sig';
/**
 * `ids/complete`, a file: every task of the archive is in the index, so an id the index lacks is not archived and
 * no month folder needs reading. Written by the first archive step into an empty archive and by
 * `gitbus archive --reindex`; a gitbus that predates the index and archives after it leaves its tasks unindexed
 * until the next `--reindex`.
 */
export const ARCHIVE_INDEX_COMPLETE = 'complete';
export const ARCHIVE_INDEX_COMPLETE_TEXT =
  'Every task of this archive branch is in ids/<hh>/<id>.<yyyy-mm> (gitbus docs/PROTOCOL.md section 7).\n';

/** A shard's name in the id index: two lower-case hex digits. */
export const ARCHIVE_SHARD_RE = /^[0-9a-f]{2}$/;

/** The shard of an id: two lower-case hex digits. */
export function archiveShardOf(id: string): string {
  return nodeCrypto().createHash('sha1').update(id, 'utf8').digest('hex').slice(0, 2);
}

/** `ids/<hh>`: the folder an id's index entries are in. */
export function archiveShardPath(id: string): string {
  return `${ARCHIVE_INDEX_FOLDER}/${archiveShardOf(id)}`;
}

/** Where the index puts the task folder of `id` archived in `month`. */
export function archiveIndexPathFor(month: string, id: string): string {
  return `${archiveShardPath(id)}/${id}.${month}`;
}

/** Where the index puts the signature folder of `id` archived in `month`. */
export function archiveIndexSignaturePathFor(month: string, id: string): string {
  return `${archiveIndexPathFor(month, id)}${SIG_SUFFIX}`;
}

export interface ArchiveIndexEntry {
  id: string;
  month: string;
  /** The entry is the task's signature folder, not its files. */
  signatures: boolean;
}

/** Reads one name of a shard tree (`<id>.<yyyy-mm>` or `<id>.<yyyy-mm>.sig`); null for anything else. */
export function parseArchiveIndexName(name: string): ArchiveIndexEntry | null {
  const signatures = name.endsWith(SIG_SUFFIX);
  const base = signatures ? name.slice(0, -SIG_SUFFIX.length) : name;
  const dot = base.lastIndexOf('.');
  if (dot < 1) return null;
  const id = base.slice(0, dot);
  const month = base.slice(dot + 1);
  if (!TASK_ID_RE.test(id) || !ARCHIVE_MONTH_RE.test(month)) return null;
  return { id, month, signatures };
}

/**
 * The index entries for `id` in one shard's listing, newest month first (an id is never reused, so there is one;
 * a hand-edited archive may hold more, and the latest end is the one that counts, as in the month scan).
 */
export function indexEntriesFor(id: string, names: readonly string[]): { month: string; task: string; signatures: string | null }[] {
  const byMonth = new Map<string, { task?: string; signatures?: string }>();
  for (const name of names) {
    const e = parseArchiveIndexName(name);
    if (!e || e.id !== id) continue;
    const slot = byMonth.get(e.month) ?? {};
    if (e.signatures) slot.signatures = name;
    else slot.task = name;
    byMonth.set(e.month, slot);
  }
  return [...byMonth.entries()]
    .filter((kv): kv is [string, { task: string; signatures?: string }] => kv[1].task !== undefined)
    .sort((a, b) => (a[0] < b[0] ? 1 : -1))
    .map(([month, s]) => ({ month, task: s.task, signatures: s.signatures ?? null }));
}

/**
 * The index entries that mirror one archived file: `<yyyy-mm>/<id>/<name>` and its signature
 * `signatures/<yyyy-mm>/<id>/<name>.sig` map to the same name under the id's index folders. Null for any other path.
 */
export function archiveIndexMirror(path: string): string | null {
  const parts = path.split('/');
  const sig = parts[0] === SIGNATURES_FOLDER;
  const rest = sig ? parts.slice(1) : parts;
  if (rest.length !== 3) return null;
  const [month = '', id = '', name = ''] = rest;
  if (!ARCHIVE_MONTH_RE.test(month) || !TASK_ID_RE.test(id) || name === '') return null;
  return `${sig ? archiveIndexSignaturePathFor(month, id) : archiveIndexPathFor(month, id)}/${name}`;
}
