import type { parseSettingsFile } from '../../schemas/bus-file.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { HandoffFacts } from '../store/parse-cache-file.js';
import { IndexMemo } from './index-tree.js';
import type { Parsed, TaskView } from './task-view.js';
import type { FileRef, TaskFiles } from './types.js';

/*
 * What Snapshot (snapshot.ts) keeps in this process across snapshots: module-level, so that every snapshot a
 * long-lived process reads shares them. For snapshot.ts and its parts (snapshot-disk-cache.ts,
 * snapshot-row-views.ts) only: the rest of gitbus reads them through Snapshot.
 */

/**
 * Parse results by blob oid, with the path they were parsed at (a result depends on the path too: the file kind
 * and id come from the name); bus files are immutable, so an entry never goes stale. Keyed by the oid string the
 * tree listing already holds, so that a lookup builds no key: with 5,000 tasks that was 15,000 strings per command.
 */
const parseCache = new Map<string, { path: string; parsed: Parsed<unknown> }>();
export const cached = (path: string, oid: string): Parsed<unknown> | undefined => {
  const e = parseCache.get(oid);
  return e && e.path === path ? e.parsed : undefined;
};
const PARSE_CACHE_LIMIT = 50_000;

/**
 * `cached` for a file of a snapshot: nothing for an entry that is not a regular file (a link, whose blob may be the
 * very bytes a file of that name held before: it is never read as one).
 */
export const cachedRef = (ref: FileRef): Parsed<unknown> | undefined => (ref.notAFile ? undefined : cached(ref.path, ref.oid));

let generation = 0;
/** How many times the parse cache was emptied: what was marked as loaded into it before then is not there any more. */
export const parseCacheGeneration = (): number => generation;

export function remember(path: string, oid: string, parsed: Parsed<unknown>): void {
  if (parseCache.size >= PARSE_CACHE_LIMIT) {
    parseCache.clear();
    generation++;
  }
  parseCache.set(oid, { path, parsed });
}

/**
 * Across snapshots: the index of unchanged folders and tasks (IndexMemo), and each task's base view by its
 * TaskFiles, which the memo hands out again while the task's files (names and blob oids) are unchanged. A base view
 * is a function of those blobs alone (bus/model/task-view.ts baseTaskView: no time, settings or liveness), so a
 * long-lived watcher's wake costs what changed, not what is pending. Dependencies are applied per snapshot.
 */
export const indexMemo = new IndexMemo();
export const baseViews = new WeakMap<TaskFiles, TaskView>();
/** Base views with the handoff's facts only (rowViews), by TaskFiles like baseViews. */
export const rowViewsMemo = new WeakMap<TaskFiles, TaskView<HandoffFacts>>();
/** Snapshot.handoffIdsWhere's answers, by key: the tree of the handoffs folder they were worked out for. */
export const handoffTests = new Map<string, { tree: string; ids: string[] }>();
/** Each task's handoff as parsed (null: it does not parse), by TaskFiles like the base views: what handoffOf answers. */
export const handoffs = new WeakMap<TaskFiles, Handoff | null>();
/** gitbus.yaml by blob oid: read by every snapshot, changed almost never. */
export const settingsCache = new Map<string, ReturnType<typeof parseSettingsFile>>();

/**
 * Files parsed from their blobs by this process, per live folder: saveParsed has nothing to do for a folder while
 * its tree and its count stay the same (a wake that parses a new claim does not walk 5,000 handoffs).
 */
export const parsedFromBlobs = new Map<string, number>();
export const parsedIn = (folder: string): number => parsedFromBlobs.get(folder) ?? 0;
