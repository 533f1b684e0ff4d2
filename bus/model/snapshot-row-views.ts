import type { Handoff } from '../../schemas/handoff.js';
import { parsedOfRow, type CachedFacts, type HandoffFacts } from '../store/parse-cache-file.js';
import { rowMatches } from './snapshot-disk-cache.js';
import { baseViews, cachedRef, rowViewsMemo } from './snapshot-memos.js';
import { baseTaskView, withDependencies, type Parsed, type ParsedTaskFiles, type TaskView } from './task-view.js';
import type { FileRef, TaskFiles, TaskState } from './types.js';

/*
 * The views status lists (Snapshot.rowViews): each holding of its handoff only its facts, from the disk cache's
 * handoff facts where it has them (snapshot-disk-cache.ts), else parsed through the snapshot.
 */

/** What the row views read of their snapshot: a task's files (Snapshot.filesOf), whether it is live, and its parser. */
export interface RowViewSource {
  files(id: string): TaskFiles | undefined;
  has(id: string): boolean;
  /** Snapshot.parse of a handoff. */
  parse(ref: FileRef): Promise<Parsed<Handoff>>;
  /** Snapshot.parseTaskFiles: the task's other files a view needs, with its handoff as given. */
  parseTaskFiles(files: TaskFiles, handoff: Parsed<HandoffFacts>): Promise<ParsedTaskFiles<HandoffFacts>>;
}

/** Snapshot.rowViews: the views of `ids` (those live, in order) with their handoffs' facts (null: no facts file). */
export async function rowViewsOf(
  source: RowViewSource,
  facts: Map<string, CachedFacts> | null,
  ids: Iterable<string>,
  external?: (missing: string[]) => Promise<Map<string, TaskState>>,
): Promise<TaskView<HandoffFacts>[]> {
  return withDependencies(ids, (id) => rowViewNow(source, id, facts) ?? rowView(source, id, facts), (id) => source.has(id), external);
}

/**
 * rowView without an await, for the common case (a task whose only file is its handoff, known from memory or a
 * facts row): with 5,000 pending tasks, an await each was a good part of the loop. undefined: ask rowView.
 */
function rowViewNow(source: RowViewSource, id: string, facts: Map<string, CachedFacts> | null): TaskView<HandoffFacts> | undefined {
  const files = source.files(id);
  if (!files?.handoff) return undefined;
  const known = rowViewsMemo.get(files) ?? baseViews.get(files);
  if (known) return known;
  if (files.claims.size > 0 || files.releases.size > 0 || files.cancel || files.response || files.deliveries) return undefined;
  const ref = files.handoff;
  const inMemory = cachedRef(ref) as Parsed<Handoff> | undefined;
  const row = inMemory ? undefined : facts?.get(ref.oid);
  const handoff = inMemory ?? (rowMatches(row, ref) ? parsedOfRow(row) : undefined);
  if (!handoff) return undefined;
  const view = baseTaskView<HandoffFacts>(files, { handoff });
  rowViewsMemo.set(files, view);
  return view;
}

/** A task's base view with its handoff's facts (rowViews): its full view when one is in memory already. */
async function rowView(source: RowViewSource, id: string, facts: Map<string, CachedFacts> | null): Promise<TaskView<HandoffFacts> | undefined> {
  const files = source.files(id);
  if (!files?.handoff) return undefined;
  const known = rowViewsMemo.get(files) ?? baseViews.get(files);
  if (known) return known;
  const ref = files.handoff;
  const row = cachedRef(ref) ? undefined : facts?.get(ref.oid);
  const handoff: Parsed<HandoffFacts> = rowMatches(row, ref) ? parsedOfRow(row) : await source.parse(ref);
  const view = baseTaskView<HandoffFacts>(files, await source.parseTaskFiles(files, handoff));
  rowViewsMemo.set(files, view);
  return view;
}
