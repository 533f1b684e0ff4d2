import { parseArchivedFile } from '../../schemas/bus-file.js';
import { parseArchivePath } from '../../schemas/archive-layout.js';
import type { Delivery } from '../../schemas/delivery.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { tooLargeProblem } from '../../schemas/file-text.js';
import { isFileProblem } from '../../schemas/layout.js';
import { baseTaskView, isDeliveryRef, refsToParse, type Parsed, type ParsedTaskFiles, type TaskView } from '../model/task-view.js';
import type { FileRef, TaskFiles } from '../model/types.js';
import type { ObjectStore } from '../store/objects.js';
import type { ArchivedTask } from './archive-lookup.js';

/**
 * The view of an archived task, made from its archive folder's files as a live task's is made from main's
 * (baseTaskView), so that `show --json` and the web view summarize it as they summarize a live one. Its state is the
 * lookup's (findArchived), which dependencies and every command use; its problems name the archive's paths.
 */
export async function archivedView(store: ObjectStore, id: string, entry: Pick<ArchivedTask, 'month' | 'files' | 'state' | 'problems'>): Promise<TaskView> {
  const files = archivedTaskFiles(id, entry);
  const parse = async (ref: FileRef): Promise<Parsed<unknown>> => {
    // Above the limit a file is not read (docs/PROTOCOL.md §3), as on main.
    const content = await store.readBlobUpTo(ref.oid, MAX_FILE_BYTES);
    if (typeof content === 'number') return { ok: false, problems: [tooLargeProblem(ref.path, content)] };
    const r = parseArchivedFile(ref.path, content);
    return r.ok ? { ok: true, data: r.file.data, body: r.file.body, warnings: r.warnings } : { ok: false, problems: r.problems };
  };
  const handoff = files.handoff
    ? await parse(files.handoff)
    : { ok: false as const, problems: [{ path: `${entry.month}/${id}/handoff.md`, field: '', reason: 'the archived task has no handoff', fix: 'put it back from the archive branch\'s history', severity: 'error' as const }] };
  const parsed = { handoff } as ParsedTaskFiles;
  for (const ref of refsToParse(files)) {
    if (ref === files.handoff) continue;
    const p = await parse(ref);
    if (ref === files.response) parsed.response = p as ParsedTaskFiles['response'];
    else if (isDeliveryRef(files, ref)) (parsed.deliveries ??= []).push({ path: ref.path, parsed: p as Parsed<Delivery> });
    else if (ref === files.cancel) parsed.cancel = p as ParsedTaskFiles['cancel'];
    else parsed.claim = p as ParsedTaskFiles['claim'];
  }
  const view = baseTaskView(files, parsed);
  // Named as `show` names the archived files, so a problem points at the file listed under it.
  const problems = view.problems.map((p) => ({ ...p, path: `archive:${p.path}` }));
  // The lookup's own (a folder without an end) after the files', each once.
  const key = (p: { path: string; field: string; reason: string }) => `${p.path}\0${p.field}\0${p.reason}`;
  const seen = new Set(problems.map(key));
  return { ...view, state: entry.state, problems: [...problems, ...entry.problems.filter((p) => !seen.has(key(p)))] };
}

/** The name in its archive folder (`claim.2.md`) of a file of archivedTaskFiles (whose paths are `<month>/<id>/<name>`). Pure. */
export function archivedName(ref: Pick<FileRef, 'path'>): string {
  return ref.path.slice(ref.path.lastIndexOf('/') + 1);
}

/** An archived task's files as a live task's are indexed, by their archive paths (`<yyyy-mm>/<id>/<name>`). Pure. */
export function archivedTaskFiles(id: string, entry: Pick<ArchivedTask, 'month' | 'files'>): TaskFiles {
  const files: TaskFiles = { id, claims: new Map(), releases: new Map() };
  for (const [name, oid] of entry.files) {
    const path = `${entry.month}/${id}/${name}`;
    const where = parseArchivePath(path);
    if (isFileProblem(where)) continue;
    const ref: FileRef = { path, oid };
    const at = where.location;
    if (at.kind === 'claim') files.claims.set(at.attempt, ref);
    else if (at.kind === 'release') files.releases.set(at.attempt, ref);
    else if (at.kind === 'delivery') (files.deliveries ??= new Map()).set(at.attempt, ref);
    else files[at.kind] = ref;
  }
  return files;
}
