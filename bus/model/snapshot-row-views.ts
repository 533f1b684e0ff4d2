import type { Handoff } from '../../schemas/handoff.js';
import { parsedOfRow, type CachedFacts, type HandoffFacts } from '../store/parse-cache-file.js';
import { rowMatches } from './snapshot-disk-cache.js';
import { baseViews, cached, rowViewsMemo } from './snapshot-memos.js';
import { applyDependencies, baseTaskView, type Parsed, type ParsedTaskFiles, type TaskView } from './task-view.js';
import type { FileRef, TaskFiles, TaskState, TreeIndex } from './types.js';

/*
 * The views status lists (Snapshot.rowViews): each holding of its handoff only its facts, from the disk cache's
 * handoff facts where it has them (snapshot-disk-cache.ts), else parsed through the snapshot.
 */

/** What the row views read of their snapshot: its index (read at each use) and its parser. */
export interface RowViewSource {
  readonly index: TreeIndex;
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
  const bases: TaskView<HandoffFacts>[] = [];
  const missing = new Set<string>();
  for (const id of ids) {
    const base = rowViewNow(source.index, id, facts) ?? (await rowView(source, id, facts));
    if (!base) continue;
    bases.push(base);
    for (const dep of base.handoff?.after ?? []) if (!source.index.tasks.has(dep)) missing.add(dep);
  }
  const archived = external && missing.size > 0 ? await external([...missing]) : new Map<string, TaskState>();
  const out: TaskView<HandoffFacts>[] = [];
  for (const base of bases) {
    const deps = base.handoff?.after ?? [];
    if (deps.length === 0 || base.state !== 'pending') {
      out.push(base);
      continue;
    }
    const states = new Map<string, TaskState | 'unknown'>();
    for (const dep of deps) states.set(dep, (rowViewNow(source.index, dep, facts) ?? (await rowView(source, dep, facts)))?.state ?? archived.get(dep) ?? 'unknown');
    out.push(applyDependencies(base, (d) => states.get(d) ?? 'unknown'));
  }
  return out;
}

/**
 * rowView without an await, for the common case (a task whose only file is its handoff, known from memory or a
 * facts row): with 5,000 pending tasks, an await each was a good part of the loop. undefined: ask rowView.
 */
function rowViewNow(index: TreeIndex, id: string, facts: Map<string, CachedFacts> | null): TaskView<HandoffFacts> | undefined {
  const files = index.tasks.get(id);
  if (!files?.handoff) return undefined;
  const known = rowViewsMemo.get(files) ?? baseViews.get(files);
  if (known) return known;
  if (files.claims.size > 0 || files.releases.size > 0 || files.cancel || files.response) return undefined;
  const ref = files.handoff;
  const inMemory = cached(ref.path, ref.oid) as Parsed<Handoff> | undefined;
  const row = inMemory ? undefined : facts?.get(ref.oid);
  const handoff = inMemory ?? (rowMatches(row, ref) ? parsedOfRow(row) : undefined);
  if (!handoff) return undefined;
  const view = baseTaskView<HandoffFacts>(files, { handoff });
  rowViewsMemo.set(files, view);
  return view;
}

/** A task's base view with its handoff's facts (rowViews): its full view when one is in memory already. */
async function rowView(source: RowViewSource, id: string, facts: Map<string, CachedFacts> | null): Promise<TaskView<HandoffFacts> | undefined> {
  const files = source.index.tasks.get(id);
  if (!files?.handoff) return undefined;
  const known = rowViewsMemo.get(files) ?? baseViews.get(files);
  if (known) return known;
  const ref = files.handoff;
  const row = cached(ref.path, ref.oid) ? undefined : facts?.get(ref.oid);
  const handoff: Parsed<HandoffFacts> = rowMatches(row, ref) ? parsedOfRow(row) : await source.parse(ref);
  const view = baseTaskView<HandoffFacts>(files, await source.parseTaskFiles(files, handoff));
  rowViewsMemo.set(files, view);
  return view;
}
