import { parseArchivedFile } from '../../schemas/bus-file.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { tooLargeProblem } from '../../schemas/file-text.js';
import type { TaskResponse as Response } from '../../schemas/response.js';
import type { FileProblem } from '../../schemas/errors.js';
import type { BusContext } from '../context.js';
import { UnknownTaskError } from '../errors.js';
import { archivedName } from './archived-view.js';
import { resolveTaskIdBeyond, type LiveIds } from '../model/resolve-id.js';
import type { TaskState } from '../model/types.js';
import { ARCHIVE, MAIN } from '../repo.js';
import { existsSync } from 'node:fs';
import { isFileProblem, pathFor } from '../../schemas/layout.js';
import type { ObjectStore, TreeEntry } from '../store/objects.js';
import type { ArchiveFilter, ArchiveObjectSource } from '../archive/path-read.js';
import { openArchiveSource } from '../archive/source.js';
import { indexOf, shardsInMain } from '../archive/shards-hint.js';
import type { ArchiveShards } from '../../schemas/archive-shards.js';
import { UploadArchiveReader, type ArchivedFolders } from '../archive/upload-archive.js';
import { ARCHIVE_INDEX_FOLDER, archiveIndexPathFor, archiveShardOf, indexEntriesFor } from '../../schemas/archive-index.js';
import { ARCHIVE_MONTH_RE, parseArchivePath } from '../../schemas/archive-layout.js';
import { SIGNATURE_EXT, SIGNATURES_FOLDER } from '../../schemas/signature-layout.js';
import { notAFile, type UnreadSidecar } from '../trust/file-signatures.js';
import type { EnforcedTrust } from '../trust/handoff-trust.js';
import { nodeFileVerdict, type NodeFileVerdict } from '../trust/node-file-trust.js';
import { acceptedOf, loadPin, pinPath } from '../trust/pin.js';
import { MAX_SIGNATURE_FILE } from '../trust/sshsig.js';

/** The trust this node enforces, or null when it pinned no trust root. */
export function acceptedTrust(ctx: BusContext): EnforcedTrust | null {
  const pin = existsSync(pinPath(ctx.paths.home)) ? loadPin(ctx.paths.home) : null;
  return pin ? { accepted: acceptedOf(pin, ctx.paths.home), node: ctx.config.trust ?? {} } : null;
}

/**
 * Whether a claim, release or response of an archived task (`ref`: its archive path and blob) was written by the node
 * it names, judged as on main: the signature covers the file's path on main, and sits in the task's signature folder.
 * Its fix names the archive path. What reads an archived task asks countedArchive (archived-trust.ts), which uses this.
 */
export async function archivedFileVerdict(store: ObjectStore, entry: Pick<ArchivedTask, 'month' | 'signatures' | 'unreadSignatures'>, ref: { path: string; oid: string }, trust: EnforcedTrust, now: Date): Promise<NodeFileVerdict & { data: Record<string, unknown> | null }> {
  const where = parseArchivePath(ref.path);
  if (isFileProblem(where)) return { counts: false, node: null, reason: where.reason, fix: where.fix, data: null };
  // Over the size limit it does not parse whoever signed it: judged unsigned, never read (as on main, node-files.ts).
  const read = await store.readBlobUpTo(ref.oid, MAX_FILE_BYTES);
  if (typeof read === 'number') return { ...nodeFileVerdict({ path: pathFor(where.location), bytes: new Uint8Array(), node: null, archivedAt: ref.path }, trust.accepted, trust.node, now), data: null };
  const bytes = read;
  const parsed = parseArchivedFile(ref.path, bytes);
  const data = parsed.ok ? (parsed.file.data as Record<string, unknown>) : null;
  const node = typeof data?.['node'] === 'string' ? data['node'] : null;
  const name = archivedName(ref);
  const sig = entry.signatures.get(`${name}${SIGNATURE_EXT}`);
  const sidecar = sig ? await store.readBlob(sig, MAX_SIGNATURE_FILE) : undefined;
  const unread = sidecar ? undefined : archivedUnreadSidecar(entry, where.location.id, name);
  return { ...nodeFileVerdict({ path: pathFor(where.location), bytes, node, ...(sidecar ? { sidecar } : {}), ...(unread ? { unread } : {}), archivedAt: ref.path }, trust.accepted, trust.node, now), data };
}

/**
 * What holds the sidecar name of the archived file `name` of task `id` without being a file (a folder, a link, a
 * submodule in its signature folder), named on the archive branch; undefined when nothing does.
 */
export function archivedUnreadSidecar(entry: Pick<ArchivedTask, 'month' | 'unreadSignatures'>, id: string, name: string): UnreadSidecar | undefined {
  const is = entry.unreadSignatures?.get(`${name}${SIGNATURE_EXT}`);
  return is ? { path: `${SIGNATURES_FOLDER}/${entry.month}/${id}/${name}${SIGNATURE_EXT}`, is, branch: 'archive' } : undefined;
}

export interface ArchivedTask {
  month: string;
  /**
   * How it ended: its response's status, `cancelled` for a cancel without a response, or `invalid` when the folder
   * says neither (its response does not parse, or it has neither file): then how it ended is unknown, and a task
   * after it stays blocked (docs/PROTOCOL.md §4) rather than being cancelled for an end nobody wrote.
   */
  state: TaskState;
  /** Why it is `invalid`, naming the archived file (`archive:<yyyy-mm>/<id>/...`); empty otherwise. */
  problems: FileProblem[];
  /** File name inside the task's archive folder -> blob oid. */
  files: Map<string, string>;
  /** Its signature folder (`signatures/<yyyy-mm>/<id>/`): file name -> blob oid. Empty when it has none. */
  signatures: Map<string, string>;
  /**
   * The entries of its signature folder that are not files (a folder, a symbolic link, a submodule), by name: never
   * read, so the file each would sign is unsigned, and a verdict says what is there. Absent or empty: none.
   */
  unreadSignatures?: Map<string, UnreadSidecar['is']>;
}

/**
 * The data of file `name` of an archived task's folder (`handoff.md`, `claim.<n>.md`, `response.md`...), parsed as
 * its kind; undefined when the folder has no such file or it does not parse (`show` prints it as it is).
 */
export async function readArchivedData<T>(store: ObjectStore, id: string, entry: Pick<ArchivedTask, 'month' | 'files'>, name: string): Promise<T | undefined> {
  return (await readArchivedFile<T>(store, id, entry, name))?.data;
}

/** As readArchivedData, with the file's body (a response's sections). */
export async function readArchivedFile<T>(store: ObjectStore, id: string, entry: Pick<ArchivedTask, 'month' | 'files'>, name: string): Promise<{ data: T; body: string } | undefined> {
  const oid = entry.files.get(name);
  if (!oid) return undefined;
  const bytes = await store.readBlobUpTo(oid, MAX_FILE_BYTES);
  if (typeof bytes === 'number') return undefined;
  const parsed = parseArchivedFile(`${entry.month}/${id}/${name}`, bytes);
  return parsed.ok ? { data: parsed.file.data as T, body: parsed.file.body } : undefined;
}

/**
 * Finds archived tasks by id (docs/PROTOCOL.md §7). Reads only the path to each: the root, the id index's shard
 * and the task's folders, each object fetched once (bus/archive/source.ts: by path from the remote, or from its
 * shallow tip where it refuses that) and kept. Ids that the index lacks are looked for in the month folders,
 * unless the index says it covers the whole archive.
 */
export interface FindArchivedOptions {
  /**
   * Look in the month folders for ids the index lacks even when `ids/complete` says it covers the archive: for a
   * person asking about one task (`show`, `verify`, `resume`), where a task an older gitbus archived after the index
   * was complete must still be found; the month folders are then read once. Default false.
   */
  thorough?: boolean;
  /**
   * Read the archive ref now, not from a listing up to 2 s old: for a decision that read main alone (TransactOptions
   * oneRef), which made no listing. `gitbus archive` moves the archive before main, so an archive ref read after main
   * holds every task main no longer has; one from an older listing may not, and such a task would look gone from both.
   */
  fresh?: boolean;
}

/**
 * Whether an id is an archived task's full id, for resolveTaskIdBeyond (bus/model/resolve-id.ts): looked up as the
 * caller's own fallback to the archive looks it up, so a ref the caller would answer from the archive is not taken
 * for a live task it happens to start or end.
 */
export function archivedIdCheck(ctx: BusContext, opts: FindArchivedOptions = {}): (id: string) => Promise<boolean> {
  return async (id) => (await findArchived(ctx, [id], opts)).has(id);
}

/**
 * The live task `ref` names, or null where none does, so that the caller answers it from the archive (a full id) or
 * its own queue: the reading commands' first step. Offline the archive cannot be asked, and the live tasks decide; a
 * ref that matches several live tasks throws (UnknownTaskError with its candidates).
 */
export async function liveTaskId(ctx: BusContext, ids: LiveIds, ref: string, offline: boolean): Promise<string | null> {
  try {
    return await resolveTaskIdBeyond(ids, ref, offline ? async () => false : archivedIdCheck(ctx, { thorough: true }));
  } catch (err) {
    if (!(err instanceof UnknownTaskError) || ((err.data['candidates'] as string[] | undefined)?.length ?? 0) > 1) throw err;
    return null;
  }
}

export async function findArchived(ctx: BusContext, ids: string[], opts: FindArchivedOptions = {}): Promise<Map<string, ArchivedTask>> {
  // The archive moves about once a day; the listing this decision (or this watcher wake) just made is recent
  // enough, so a dependency on a task that is nowhere costs no extra round trip per wake.
  const head = opts.fresh ? await ctx.repo.remoteRef(ARCHIVE) : await ctx.repo.remoteHead(ARCHIVE, 2_000);
  if (!head || ids.length === 0) return new Map();
  const source = await openArchiveSource(ctx.repo, head);
  try {
    // Through git's services, one upload-archive exchange finds what the index has, where the remote runs it.
    const known = source.mode === 'path' ? ((await new UploadArchiveReader(ctx.repo).find(head, ids)) ?? new Map<string, ArchivedFolders>()) : new Map<string, ArchivedFolders>();
    // Main says where the shards are when it names this tip (an archive run's own note): no root or `ids` to read.
    const noted = ids.some((id) => !known.has(id)) ? await shardsInMain(ctx.repo.store, await ctx.repo.localHead(MAIN)) : null;
    return await lookUp(ctx.repo.store, head, ids, source, opts.thorough ?? false, known, noted?.archive === head ? noted : null);
  } finally {
    source.close?.();
  }
}

/**
 * The lookup itself, from the archive commit `head`; `reader` brings what the clone lacks. `known`: the folders of
 * tasks already found (bus/archive/upload-archive.ts), which are in the clone.
 */
async function lookUp(store: ObjectStore, head: string, ids: string[], reader: ArchiveObjectSource, thorough: boolean, known: ReadonlyMap<string, ArchivedFolders>, noted: ArchiveShards | null): Promise<Map<string, ArchivedTask>> {
  const out = new Map<string, ArchivedTask>();
  const need = async (oids: string[], filter?: ArchiveFilter, noted = false) => (oids.length > 0 ? reader.ensure(oids, filter, noted) : undefined);
  const folder = new Map<string, ArchivedFolders>(known);
  const wanted = new Set(ids.filter((id) => !known.has(id)));
  if (wanted.size > 0) {
    try {
      await findByPath(store, head, wanted, folder, need, thorough, noted);
    } catch (err) {
      if (noted === null) throw err;
      // A note naming trees the remote does not have (written by hand): the archive's own path, from its root.
      for (const id of folder.keys()) if (!known.has(id)) wanted.add(id);
      for (const id of wanted) folder.delete(id);
      await findByPath(store, head, wanted, folder, need, thorough, null);
    }
  }

  // The tasks' folders with their files, in one exchange.
  await need([...folder].flatMap(([id, f]) => (known.has(id) ? [] : f.signatures ? [f.task, f.signatures] : [f.task])));
  for (const [id, f] of folder) {
    const files = new Map<string, string>();
    // A link, folder or submodule where a file goes is never read nor followed; only its end's is said (archivedEnd).
    const unread = new Map<string, UnreadSidecar['is']>();
    for (const e of await store.readTree(f.task)) {
      const is = notAFile(e);
      if (is) unread.set(e.path, is);
      else files.set(e.path, e.oid);
    }
    const sigEntries = f.signatures ? await store.readTree(f.signatures) : [];
    const signatures = new Map<string, string>();
    const unreadSignatures = new Map<string, UnreadSidecar['is']>();
    for (const e of sigEntries) {
      const is = notAFile(e);
      if (is) unreadSignatures.set(e.path, is);
      else signatures.set(e.path, e.oid);
    }
    out.set(id, { month: f.month, ...(await archivedEnd(store, id, f.month, files, unread)), files, signatures, ...(unreadSignatures.size > 0 ? { unreadSignatures } : {}) });
  }
  return out;
}

/** How an archived task ended, from its folder's files; `invalid`, with why, when they do not say. */
async function archivedEnd(store: ObjectStore, id: string, month: string, files: ReadonlyMap<string, string>, unread: ReadonlyMap<string, UnreadSidecar['is']>): Promise<Pick<ArchivedTask, 'state' | 'problems'>> {
  const folder = `${month}/${id}`;
  const resp = files.get('response.md');
  // What holds an end's name without being a file says nothing of how the task ended: named, never read.
  const end = resp === undefined ? ['response.md', 'cancel.md'].find((n) => unread.has(n) && (n === 'response.md' || !files.has(n))) : undefined;
  if (end !== undefined) return { state: 'invalid', problems: [unreadEnd(folder, end, unread.get(end) ?? 'link')] };
  if (resp !== undefined) {
    const bytes = await store.readBlobUpTo(resp, MAX_FILE_BYTES);
    if (typeof bytes === 'number') return { state: 'invalid', problems: [{ ...tooLargeProblem(`archive:${folder}/response.md`, bytes), fix: `put the response back as it was: git log archive -- ${folder}/ lists the commits that changed it` }] };
    const parsed = parseArchivedFile(`${folder}/response.md`, bytes);
    if (parsed.ok) return { state: (parsed.file.data as Response).status, problems: [] };
    return { state: 'invalid', problems: parsed.problems.map((p) => ({ ...p, path: `archive:${p.path}` })) };
  }
  if (files.has('cancel.md')) return { state: 'cancelled', problems: [] };
  const fix = `put the file back as it was: git log archive -- ${folder}/ ${archiveIndexPathFor(month, id)}/ lists the commits that changed it`;
  return { state: 'invalid', problems: [{ path: `archive:${folder}/`, field: '', reason: 'the archived task has neither response.md nor cancel.md, so how it ended is unknown', fix, severity: 'error' }] };
}

/** The problem of an archived task whose `name` (response.md, cancel.md) is a link, folder or submodule. Pure. */
function unreadEnd(folder: string, name: string, is: UnreadSidecar['is']): FileProblem {
  const what = is === 'folder' ? 'a folder' : is === 'link' ? 'a symbolic link' : 'a submodule';
  return {
    path: `archive:${folder}/${name}`,
    field: '',
    reason: `${name} is ${what}, not a file: gitbus never reads one (nor follows a link), so how the archived task ended is unknown`,
    fix: `put ${name} back as the file it was: git log archive -- ${folder}/ lists the commits that changed it`,
    severity: 'error',
  };
}

/** Finds the folders of `wanted` (emptied as they are found) by reading the archive's trees level by level. */
async function findByPath(
  store: ObjectStore,
  head: string,
  wanted: Set<string>,
  folder: Map<string, ArchivedFolders>,
  need: (oids: string[], filter?: ArchiveFilter, noted?: boolean) => Promise<void>,
  thorough: boolean,
  noted: ArchiveShards | null,
): Promise<void> {
  let rootEntries: TreeEntry[] | undefined;
  const readRoot = async () => {
    if (rootEntries) return rootEntries;
    await need([head], 'tree:1');
    return (rootEntries = await store.readTree(await store.readCommitTree(head)));
  };
  const indexShards = async (): Promise<Pick<ArchiveShards, 'shards' | 'complete'> | null> => {
    if (noted) return noted;
    const index = (await readRoot()).find((e) => e.path === ARCHIVE_INDEX_FOLDER && e.type === 'tree');
    if (!index) return null;
    await need([index.oid], 'tree:0');
    return indexOf(await store.readTree(index.oid));
  };

  const index = await indexShards();
  let indexComplete = false;
  if (index) {
    const shards = index.shards;
    indexComplete = index.complete;
    const shardOids = [...wanted].flatMap((id) => shards.get(archiveShardOf(id)) ?? []);
    await need(shardOids, 'tree:0', noted !== null);
    for (const id of wanted) {
      const shard = shards.get(archiveShardOf(id));
      if (!shard) continue;
      const names = new Map((await store.readTree(shard)).filter((e) => e.type === 'tree').map((e) => [e.path, e.oid] as const));
      const entry = indexEntriesFor(id, [...names.keys()])[0];
      const task = entry && names.get(entry.task);
      if (!entry || !task) continue;
      folder.set(id, { month: entry.month, task, signatures: (entry.signatures && names.get(entry.signatures)) ?? null });
      wanted.delete(id);
    }
  }

  // Tasks archived before the index (or by a gitbus that does not write it): the month folders, newest first.
  if (wanted.size > 0 && (thorough || !indexComplete)) {
    const root = await readRoot();
    const months = root.filter((e) => e.type === 'tree' && ARCHIVE_MONTH_RE.test(e.path)).sort((a, b) => (a.path < b.path ? 1 : -1));
    await need(months.map((m) => m.oid), 'tree:0');
    const sigRoot = root.find((e) => e.path === SIGNATURES_FOLDER && e.type === 'tree');
    let sigMonths = new Map<string, string>();
    if (sigRoot && months.length > 0) {
      await need([sigRoot.oid], 'tree:0');
      sigMonths = new Map((await store.readTree(sigRoot.oid)).filter((e) => e.type === 'tree').map((e) => [e.path, e.oid] as const));
      await need([...sigMonths.values()], 'tree:0');
    }
    for (const month of months) {
      if (wanted.size === 0) break;
      const sigs = sigMonths.get(month.path);
      const sigEntries = sigs ? new Map((await store.readTree(sigs)).map((e) => [e.path, e] as const)) : new Map<string, TreeEntry>();
      for (const entry of await store.readTree(month.oid)) {
        if (!wanted.has(entry.path) || entry.type !== 'tree') continue;
        wanted.delete(entry.path);
        const sig = sigEntries.get(entry.path);
        folder.set(entry.path, { month: month.path, task: entry.oid, signatures: sig?.type === 'tree' ? sig.oid : null });
      }
    }
  }

}
