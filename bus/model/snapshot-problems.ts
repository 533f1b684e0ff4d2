import type { FileProblem } from '../../schemas/errors.js';
import { LIVE_FOLDERS } from '../../schemas/layout.js';
import type { CachedFacts } from '../store/parse-cache-file.js';
import { rowMatches } from './snapshot-disk-cache.js';
import { cachedRef } from './snapshot-memos.js';
import { responseByOther } from './response-by-other.js';
import type { Snapshot } from './snapshot.js';
import type { FileRef, TaskFiles } from './types.js';

/**
 * The problems of one task's files as `gitbus lint` finds them: each file's warnings or problems (every claim and
 * release, not only the open attempt's), a result written in another node's name, why a delivery does not count.
 * `facts`: the handoff rows of the parse cache, which hold a handoff's problems without parsing it again.
 */
export async function taskFilesProblems(snap: Snapshot, files: TaskFiles, facts: ReadonlyMap<string, CachedFacts> | null | undefined, out: FileProblem[]): Promise<void> {
  const add = async (ref: FileRef | undefined): Promise<void> => {
    if (!ref) return;
    // Nearly always in the parse cache already (status built every view first).
    const p = cachedRef(ref) ?? (await snap.parse(ref));
    const found = p.ok ? p.warnings : p.problems;
    if (found.length > 0) out.push(...found);
  };
  const h = files.handoff;
  // A handoff's warnings (or problems) are in its facts row. Most tasks have no other file: no await for them.
  const row = h && !cachedRef(h) ? facts?.get(h.oid) : undefined;
  if (rowMatches(row, h)) {
    if (row.problems.length > 0) out.push(...row.problems);
  } else await add(h);
  if (files.claims.size > 0) for (const ref of files.claims.values()) await add(ref);
  if (files.releases.size > 0) for (const ref of files.releases.values()) await add(ref);
  if (files.cancel) await add(files.cancel);
  if (files.response) {
    await add(files.response);
    const other = await responseByOther(snap, files);
    if (other) out.push(other);
  }
  if (files.deliveries) {
    for (const ref of files.deliveries.values()) await add(ref);
    const v = await snap.baseView(files.id, false);
    // The view's problems hold the deliveries' parse problems (added above) and why one that parses does not count.
    // Told apart by what they say, not by identity: a long-lived process's view may hold an earlier parse of the
    // same bytes (two paths with one blob share a parse-cache entry), which said the same.
    const paths = new Set([...files.deliveries.values()].map((r) => r.path));
    const said = new Set(out.map(problemKey));
    if (v) out.push(...v.problems.filter((p) => paths.has(p.path) && !said.has(problemKey(p))));
  }
}

/**
 * Every problem of one commit as `gitbus lint` finds them, by where each comes from: the names and settings (the
 * index's layout rules, gitbus.yaml), each live task's files, the node cards. `flatProblems` gives lint's order.
 */
export interface ProblemParts {
  layout: FileProblem[];
  /** Per live task that has some, in the index's order. */
  tasks: [string, FileProblem[]][];
  nodes: FileProblem[];
}

/** Snapshot.problemParts: the problems of `snap`, its handoffs' from `facts` rows where they have them. */
export async function problemPartsOf(snap: Snapshot, facts: ReadonlyMap<string, CachedFacts> | null): Promise<ProblemParts> {
  const tasks: [string, FileProblem[]][] = [];
  for (const files of snap.index.tasks.values()) {
    const out: FileProblem[] = [];
    await taskFilesProblems(snap, files, facts, out);
    if (out.length > 0) tasks.push([files.id, out]);
  }
  const nodes: FileProblem[] = [];
  for (const n of await snap.nodes()) nodes.push(...n.problems);
  return { layout: [...snap.index.problems, ...snap.settingsProblems], tasks, nodes };
}

/** The problems of ProblemParts as one list, in lint's order. Pure. */
export function flatProblems(parts: ProblemParts): FileProblem[] {
  const out = [...parts.layout];
  for (const [, found] of parts.tasks) out.push(...found);
  out.push(...parts.nodes);
  return out;
}

/** What a problem says, for telling two apart by it. Pure. */
function problemKey(p: FileProblem): string {
  return JSON.stringify([p.path, p.field, p.reason, p.fix, p.severity]);
}

/**
 * Everything lint says of task `id`'s own files on main, for `show`: the problems of its files (taskFilesProblems),
 * and those of paths named for it that the index could not take as its files (`claims/<id>.01.md`, a claim without
 * an attempt number), which lint lists among the layout's problems.
 */
export async function taskProblems(snap: Snapshot, id: string): Promise<FileProblem[]> {
  const out = snap.layoutProblems().filter((p) => namedFor(p.path, id));
  const files = snap.filesOf(id);
  if (files) await taskFilesProblems(snap, files, undefined, out);
  return out;
}

/** Whether `path` is a task file's path for `id` in a live folder (`<folder>/<id>.md`, `<folder>/<id>.<anything>.md`). Pure. */
function namedFor(path: string, id: string): boolean {
  const slash = path.indexOf('/');
  const folder = path.slice(0, slash);
  if (slash < 0 || folder === 'nodes' || !(LIVE_FOLDERS as readonly string[]).includes(folder)) return false;
  const name = path.slice(slash + 1);
  return name === `${id}.md` || (name.startsWith(`${id}.`) && name.endsWith('.md'));
}
