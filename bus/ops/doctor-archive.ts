import { firstLine } from '../../schemas/errors.js';
import { servesPathReads } from '../archive/capabilities.js';
import { advertisedCapabilities } from '../git/capabilities.js';
import { uploadArchive, UploadArchiveError } from '../git/upload-archive.js';
import type { Transport } from '../transport/transport.js';
import { fail, ok, skip, warn, type Check } from './doctor-check.js';
import { ARCHIVE, type BusRepo } from '../repo.js';
import { openArchiveSource } from '../archive/source.js';
import { entryKind, occupiedPaths, type OccupiedPath } from '../store/objects.js';
import { ensureFolders } from '../archive/folders.js';
import type { Snapshot } from '../model/snapshot.js';
import { taskSidecars } from '../trust/file-signatures.js';
import { shellWord } from '../project/shell-word.js';
import { archivable, archiveChanges, withArchiveIndex } from './archive.js';
import { ARCHIVE_INDEX_COMPLETE, ARCHIVE_INDEX_FOLDER, ARCHIVE_SHARD_RE } from '../../schemas/archive-index.js';

/**
 * `remote.archive-reads`: how a node reads one archived task the first time (docs/PROTOCOL.md §7): in one
 * `git upload-archive` exchange where the host runs it; else by its path through upload-pack (an object filter and
 * wants of any object, a few exchanges); else by fetching the archive's whole tip.
 */
export async function checkArchiveReads(transport: Transport): Promise<Check> {
  const name = 'remote.archive-reads';
  let caps: Set<string>;
  try {
    caps = advertisedCapabilities(await transport.advertise('git-upload-pack'));
  } catch (err) {
    return fail(name, `could not read the remote's capabilities: ${firstLine(err)}`, 'check that the remote is reachable (remote.reachable)');
  }
  const archive = await runsUploadArchive(transport);
  const paths = servesPathReads(caps);
  if (archive === true) {
    return ok(name, `the remote runs git upload-archive: the first lookup of an archived task is one exchange${paths ? '' : " (ids its index lacks fetch the archive's whole tip: uploadpack.allowFilter and uploadpack.allowAnySHA1InWant are off)"}`);
  }
  const why = archive === false ? 'the host does not run git upload-archive (as GitHub and HTTP hosts do not)' : `git upload-archive failed: ${archive}`;
  if (paths) return ok(name, `the remote serves single archived tasks by path (filter, any-object wants), a few exchanges each the first time; ${why}`);
  const missing = [!caps.has('filter') ? 'uploadpack.allowFilter' : null, !caps.has('allow-any-sha1-in-want') && !caps.has('allow-reachable-sha1-in-want') ? 'uploadpack.allowAnySHA1InWant' : null].filter(Boolean);
  return warn(
    name,
    `the remote does not allow ${missing.join(' and ')}, and ${why}: the first lookup of an archived task on each node fetches the archive's whole tip (every archived task, depth 1)`,
    `in the bare repository on the server: ${missing.map((m) => `git config ${String(m)} true`).join('; ')}`,
  );
}

/** True when the host ran `git upload-archive` for main's settings file; false when it does not run it; else why it failed. */
async function runsUploadArchive(transport: Transport): Promise<true | false | string> {
  if (!transport.uploadArchive) return false;
  try {
    await uploadArchive(transport, 'refs/heads/main', ['gitbus.yaml']);
    return true;
  } catch (err) {
    if (err instanceof UploadArchiveError) return err.served ? err.said : false;
    return firstLine(err);
  }
}

/** What may sit at the root of the archive branch (docs/PROTOCOL.md §7), each a folder. */
const MONTH_RE = /^\d{4}-(0[1-9]|1[0-2])$/;

/**
 * The shape of the root of the archive's tip (pure): month folders, `ids` and `signatures`, each a folder. Anything
 * else where those go (a file, a link) hides what was archived there: `show` says "no task", and a task `after` one
 * of them stays blocked, with nothing else saying why (`damaged`). Other names are not read by anyone (`stray`).
 */
export function archiveRootProblems(root: readonly { path: string; type: string; mode: string }[]): { damaged: string[]; stray: string[] } {
  const damaged: string[] = [];
  const stray: string[] = [];
  for (const e of root) {
    const known = MONTH_RE.test(e.path) || e.path === ARCHIVE_INDEX_FOLDER || e.path === 'signatures';
    const what = entryKind(e);
    if (known && e.type !== 'tree') damaged.push(`"${e.path}" is ${what}, not a folder`);
    else if (!known) stray.push(`"${e.path}"`);
  }
  return { damaged, stray };
}

/**
 * The shape of the id index folder `ids` (pure): shards `<hh>`, each a folder, and `complete`, a file. A shard that
 * is not a folder hides the index entries of every task in it (`damaged`: the tasks after them stay blocked);
 * `complete` as anything but a file, or other names, are read by nobody (`stray`).
 */
export function archiveIndexProblems(ids: readonly { path: string; type: string; mode: string }[]): { damaged: string[]; stray: string[] } {
  const damaged: string[] = [];
  const stray: string[] = [];
  for (const e of ids) {
    const what = entryKind(e);
    if (ARCHIVE_SHARD_RE.test(e.path)) {
      if (e.type !== 'tree') damaged.push(`"${ARCHIVE_INDEX_FOLDER}/${e.path}" is ${what}, not a folder`);
    } else if (e.path === ARCHIVE_INDEX_COMPLETE) {
      if (e.type !== 'blob' || e.mode === '120000') stray.push(`"${ARCHIVE_INDEX_FOLDER}/${e.path}" is ${what}, not a file`);
    } else stray.push(`"${ARCHIVE_INDEX_FOLDER}/${e.path}"`);
  }
  return { damaged, stray };
}

/**
 * What `gitbus archive --all` would write for each finished task on main: its month folder's files and signatures
 * with their id-index copies (archive.ts archiveChanges, withArchiveIndex).
 */
export async function archiveWrites(snap: Snapshot, now = Date.now()): Promise<{ id: string; paths: string[] }[]> {
  const { tasks } = await archivable(snap, now, 'all');
  if (tasks.length === 0) return [];
  const sidecars = snap.commit ? await taskSidecars(snap.store, await snap.store.readCommitTree(snap.commit)) : undefined;
  return tasks.map(({ view, month }) => ({ id: view.id, paths: withArchiveIndex(archiveChanges(view, month, sidecars).add).map((c) => c.path) }));
}

/**
 * `archive.layout`: whether the archive branch's root, and its id index's folder, have the shape readers need, and
 * (with `snap`, main) whether the paths where the finished tasks on main would be archived are free of things of
 * another kind, which make `gitbus archive` fail with PATH_OCCUPIED and which nothing else names (lint reads main).
 * A few exchanges (its tip and root, `ids`, then the folders on those paths, a level at a time);
 * skipped where reading it would mean fetching the archive's whole tip (`readsByPath` false: remote.archive-reads
 * found neither upload-archive nor path reads, and the remote is not a local one read directly).
 */
export async function checkArchiveLayout(repo: BusRepo, refs: ReadonlyMap<string, string>, readsByPath: boolean, snap: Snapshot | null = null): Promise<Check> {
  const name = 'archive.layout';
  const tip = refs.get(ARCHIVE);
  if (!tip) return ok(name, 'no archive yet: nothing has been archived');
  if (!readsByPath && (await repo.directRemote()) === null) return skip(name, "reading the archive's root here would fetch its whole tip (see remote.archive-reads)");
  let found: { damaged: string[]; stray: string[] };
  let writes: { id: string; paths: string[] }[] = [];
  let occupied: OccupiedPath[] = [];
  const source = await openArchiveSource(repo, tip);
  try {
    await source.ensure([tip], 'tree:1');
    const root = await repo.store.readTree(await repo.store.readCommitTree(tip));
    found = archiveRootProblems(root);
    const ids = root.find((e) => e.path === ARCHIVE_INDEX_FOLDER && e.type === 'tree');
    if (ids) {
      await source.ensure([ids.oid], 'tree:0');
      const index = archiveIndexProblems(await repo.store.readTree(ids.oid));
      found = { damaged: [...found.damaged, ...index.damaged], stray: [...found.stray, ...index.stray] };
    }
    if (snap && found.damaged.length === 0) {
      writes = await archiveWrites(snap);
      const paths = writes.flatMap((w) => w.paths);
      const rootTree = await repo.store.readCommitTree(tip);
      await ensureFolders(repo.store, source, rootTree, paths);
      occupied = await occupiedPaths(repo.store, rootTree, paths);
    }
  } catch (err) {
    return warn(name, `could not read the archive's tip ${tip.slice(0, 12)}: ${firstLine(err)}`, 'check that the remote is reachable (remote.reachable), then run "gitbus doctor" again');
  } finally {
    source.close?.();
  }
  const list = (xs: string[]) => xs.slice(0, 5).join('; ') + (xs.length > 5 ? `; and ${xs.length - 5} more` : '');
  if (found.damaged.length > 0 && found.damaged.every((d) => d.startsWith(`"${ARCHIVE_INDEX_FOLDER}/`))) {
    // Only the index: archive --reindex makes the shards anew from the month folders, which are sound.
    return fail(
      name,
      `the archive at ${tip.slice(0, 12)} is damaged: ${list(found.damaged)}. Tasks indexed there cannot be found ("gitbus show" says "no task", tasks after them stay blocked)`,
      'run "gitbus archive --reindex": it makes those shards of the id index anew from the month folders',
    );
  }
  if (found.damaged.length > 0) {
    return fail(
      name,
      `the archive at ${tip.slice(0, 12)} is damaged: ${list(found.damaged)}. Tasks archived or indexed there cannot be found ("gitbus show" says "no task", tasks after them stay blocked)`,
      `find the last good commit with "git log ${ARCHIVE.replace('refs/heads/', '')}" in a clone of the bus, and put the branch back on it: "git push --force <remote> <commit>:${ARCHIVE}" (the next "gitbus archive" writes on top of what it finds)`,
    );
  }
  if (occupied.length > 0) return occupiedCheck(name, repo.transport.display, occupied, writes);
  if (found.stray.length > 0) return warn(name, `the archive at ${tip.slice(0, 12)} holds ${list(found.stray)}, which no reader looks at (its layout: month folders yyyy-mm, ids with shards <hh> and the file complete, signatures)`, 'remove them from the archive branch with git, if nobody keeps them there on purpose');
  return ok(name, `the archive at ${tip.slice(0, 12)} has the layout readers need`);
}

/**
 * The failed archive.layout for paths of the archive branch where archiving writes something of another kind: each
 * path with what is there, the task whose archiving meets it, and the git commands that move them aside. git rm is
 * safe there: what they held stays in the branch's history.
 */
function occupiedCheck(name: string, remote: string, occupied: readonly OccupiedPath[], writes: readonly { id: string; paths: string[] }[]): Check {
  const taskOf = (path: string) => writes.find((w) => w.paths.some((p) => p === path || p.startsWith(`${path}/`)))?.id ?? '?';
  const shown = occupied.slice(0, 5).map((o) => `"${o.path}" is ${o.what} on ${ARCHIVE}, where archiving ${taskOf(o.path)} writes ${o.writing}`);
  const more = occupied.length > 5 ? `; and ${occupied.length - 5} more` : '';
  const branch = ARCHIVE.replace('refs/heads/', '');
  return fail(
    name,
    `${shown.join('; ')}${more}: "gitbus archive" fails with PATH_OCCUPIED until ${occupied.length === 1 ? 'it is' : 'they are'} moved aside (gitbus never writes over what a person put there)`,
    `move ${occupied.length === 1 ? 'it' : 'them'} aside in a clone of the ${branch} branch (what ${occupied.length === 1 ? 'it holds' : 'they hold'} stays in its history): git clone --branch ${branch} ${shellWord(remote)} ${branch}-fix && cd ${branch}-fix && git rm -r -q -- ${occupied.map((o) => shellWord(o.path)).join(' ')} && git commit -q -m "move aside what gitbus archives over" && git push origin HEAD:${branch}; then run "gitbus archive" again`,
  );
}
