import { join } from 'node:path';
import type { Handoff } from '../../schemas/handoff.js';
import { cacheNames, newestFirst, removeCacheFile, removeDeadTemps } from '../store/cache-files.js';
import { checksum } from '../store/header-line.js';
import { loadKeyed, saveKeyed, type KeyedCacheKind } from '../store/keyed-cache-file.js';
import type { ObjectStore, TreeEntry } from '../store/objects.js';
import { BUILD_ID } from '../store/parse-cache.js';
import type { CachedFacts, HandoffFacts } from '../store/parse-cache-file.js';
import { changedIdsBetween } from './changed-ids.js';
import { DISK_MIN_NEW, rowMatches } from './snapshot-disk-cache.js';
import { baseViews, cachedRef, handoffs, handoffTests } from './snapshot-memos.js';
import type { TaskFiles } from './types.js';

/*
 * Snapshot.handoffIdsWhere: the live tasks whose handoff passes a test, remembered per key and handoffs tree in the
 * process (snapshot-memos.ts handoffTests) and on disk, `<clone>/gitbus-cache/handoff-tests/`. A command in a
 * process of its own decoded every live handoff's facts to answer what the command before it had answered (5,000
 * pending: ~110 ms of `claim --next`'s CPU, issue 14 session 45). Its first answer of a key now comes from the one
 * kept for this tree, or is worked out from the one kept for another: a handoff whose name, blob and mode are the
 * same in both trees passes as it did (its test reads its facts alone), and only the others are read.
 */

/** What handoffIdsWhere reads of its snapshot. */
export interface HandoffTestSource {
  readonly store: ObjectStore;
  /** The handoffs folder's tree oid and listing ('' and none when main has no such folder). */
  readonly tree: string;
  readonly listing: { readonly entries: readonly TreeEntry[]; readonly bytes?: Buffer } | undefined;
  /** Every live task's files, in index order (read only when every handoff is to be looked at). */
  tasks(): ReadonlyMap<string, TaskFiles>;
  /** A live task's files (Snapshot.filesOf), and those of `ids` that are live in index order (Snapshot.inIndexOrder). */
  files(id: string): TaskFiles | undefined;
  inIndexOrder(ids: Iterable<string>): string[];
  /** The disk cache's handoff facts for this tree (snapshot-disk-cache.ts handoffFactsFile; null: no file). */
  facts(): Map<string, CachedFacts> | null;
  /** A task's handoff parsed from its blob (null: it does not parse). */
  parseHandoff(f: TaskFiles): Promise<Handoff | null>;
  /** The same through the disk cache's parse results (Snapshot.handoffOf). */
  handoffOf(id: string): Promise<Handoff | undefined>;
}

/**
 * Keys kept, a file each (`handoff-tests/<checksum of the key>.cache`, the key inside): the housekeeping tests, claim's
 * per set of node facts, resolve's and follow-ups' per integration. A file each, so that a command reads only its
 * key's answer, which on a bus of 100,000 tasks one node may take is 2.5 MB of ids.
 */
const KEEP = 16;
const OID = /^[0-9a-f]{40}$/;
const KIND: KeyedCacheKind = { magic: 'gitbus-handoff-tests\n', format: 1, maxBytes: 64 * 1024 * 1024, validKey: () => true };
const FILE = /^[0-9a-f]{8}\.cache$/;
const TEMP = /^\.[0-9a-f]{8}\.\d+\.[0-9a-z]+\.tmp$/;

/** An answer kept for one key: the handoffs tree it is of, and the ids that passed, in index order. */
interface Answer {
  tree: string;
  ids: string[];
}

function isAnswer(v: unknown): v is Answer {
  const o = v as Partial<Answer> | null;
  return !!o && typeof o.tree === 'string' && OID.test(o.tree) && Array.isArray(o.ids) && o.ids.every((id) => typeof id === 'string');
}

/** See handoffIdsWhere in snapshot.ts; `key` names everything `test` depends on. */
export async function handoffIdsWhere(source: HandoffTestSource, key: string, test: (h: HandoffFacts) => boolean, unparsed: boolean): Promise<string[]> {
  const { tree } = source;
  const memoKey = `${unparsed ? 1 : 0} ${key}`;
  const memo = handoffTests.get(memoKey);
  if (memo && memo.tree === tree) return memo.ids;
  let ids: string[];
  const dir = join(source.store.gitdir, 'gitbus-cache', 'handoff-tests');
  const name = `${checksum(Buffer.from(memoKey, 'utf8'))}.cache`;
  // The disk is for a process's first answer of a key. A long-lived one (a watcher) asks again at each new tree with
  // most handoffs in memory already, and reading and writing the file at every push would cost it more than it saves.
  const kept = memo === undefined && tree !== '' ? loadKeyed(join(dir, name), KIND, BUILD_ID) : null;
  const found = kept?.get(memoKey);
  const before = isAnswer(found) ? found : undefined;
  if (!kept) ids = await scan(source, test, unparsed, null);
  else if (before?.tree === tree) ids = before.ids;
  else {
    // Another tree's answer: only the handoffs that differ from that tree's are read (null: every one is).
    const changed = before ? await changedSince(source, before.tree) : null;
    ids = await scan(source, test, unparsed, changed && before ? { changed, passed: new Set(before.ids) } : null);
    if (saveKeyed(dir, name, KIND, new Map([[memoKey, { tree, ids }]]), BUILD_ID)) prune(dir, name);
  }
  // Keys are few (the housekeeping tests, one per set of node facts a claim was judged for); bounded anyway.
  if (handoffTests.size >= 32) handoffTests.clear();
  handoffTests.set(memoKey, { tree, ids });
  return ids;
}

/**
 * The ids whose handoffs differ between the tree `was` and this one; null when `was` is not in the clone (it is not
 * fetched again: every handoff is read, as without an answer) or the listings cannot be compared by name.
 */
async function changedSince(source: HandoffTestSource, was: string): Promise<Set<string> | null> {
  return changedIdsBetween(source.store, 'handoffs', was, source.listing);
}

/** The KEEP newest files of the folder (`written` among them), and no temp file of a writer that died. */
function prune(dir: string, written: string): void {
  const names = cacheNames(dir);
  removeDeadTemps(dir, names, TEMP);
  for (const f of newestFirst(dir, names, (n) => n !== written && FILE.test(n)).slice(KEEP - 1)) removeCacheFile(join(dir, f.name));
}

/**
 * The ids of the live tasks whose handoff passes, in index order. With `from`, a task whose handoff did not change
 * passes as it did then; the others are read from memory, else parsed from their blobs when few, else from the
 * disk cache's facts (whose file is read at the first handoff not already in memory).
 */
async function scan(source: HandoffTestSource, test: (h: HandoffFacts) => boolean, unparsed: boolean, from: { changed: ReadonlySet<string>; passed: ReadonlySet<string> } | null): Promise<string[]> {
  const ids: string[] = [];
  const few = from !== null && from.changed.size < DISK_MIN_NEW;
  let facts: Map<string, CachedFacts> | null | undefined;
  // From an earlier answer, only the tasks it passed and those that changed can pass: every other live task is looked
  // past unread, so only those are asked about (a derived answer of 5,000 pending tasks is the index of a few).
  const live: Iterable<[string, TaskFiles]> = from
    ? source.inIndexOrder([...from.passed, ...from.changed]).map((id): [string, TaskFiles] => [id, source.files(id) as TaskFiles])
    : source.tasks();
  for (const [id, f] of live) {
    const ref = f.handoff;
    if (!ref) continue;
    if (from && !from.changed.has(id)) {
      if (from.passed.has(id)) ids.push(id);
      continue;
    }
    let h: HandoffFacts | null | undefined = handoffs.get(f) ?? baseViews.get(f)?.handoff;
    if (h === undefined) {
      const hit = cachedRef(ref);
      if (hit) h = hit.ok ? (hit.data as Handoff) : null;
    }
    if (h === undefined && few) h = await source.parseHandoff(f);
    if (h === undefined) {
      if (facts === undefined) facts = source.facts();
      const known = facts?.get(ref.oid);
      if (rowMatches(known, ref)) h = known.facts;
      // Not in the facts (added since): parsed from its blob, without loading the disk cache's parse results.
      else if (facts) h = await source.parseHandoff(f);
      else h = (await source.handoffOf(id)) ?? null;
    }
    if (h === null ? unparsed : test(h)) ids.push(id);
  }
  return ids;
}
