import type { FileProblem } from '../../schemas/errors.js';
import { pathFor } from '../../schemas/layout.js';
import { parseArchivePath } from '../../schemas/archive-layout.js';
import { SIGNATURE_EXT, SIGNATURES_FOLDER } from '../../schemas/signature-layout.js';
import { UnknownTaskError } from '../errors.js';
import type { BusContext } from '../context.js';
import { byShowOrder, filesInShowOrder } from '../model/task-file-order.js';
import { listFolder, type ObjectStore } from '../store/objects.js';
import { archivedUnreadSidecar, findArchived, liveTaskId } from '../ops/archive-lookup.js';
import { countedArchive } from '../ops/archived-trust.js';
import { snapshotOrLast, type Offline } from '../ops/query.js';
import { parseAllowedSigners, type AllowedSigners } from './allowed-signers.js';
import { checkFileSignatures, readSidecarsOf, signAgainWords, unreadSidecarWords, type FileSignatures, type Sidecar, type UnreadSidecar } from './file-signatures.js';
import { MAX_SIGNATURE_FILE } from './sshsig.js';
import { enforcedTrust } from './enforce.js';
import { acceptedOf, loadPin } from './pin.js';
import { archivedHandoffVerdict, liveHandoffVerdict, nodeFileStanding, type TrustVerdict } from './verify-verdicts.js';

/** Where the allowed signers live in the bus (docs/PROTOCOL.md §11). */
export const ALLOWED_SIGNERS_PATH = 'trust/allowed_signers';

export interface VerifiedFile extends FileSignatures {
  /**
   * On a node that enforces trust, what it makes of the file (bus/trust/verify-verdicts.ts): for the handoff, whether
   * this node would run it; for a claim, release or response, whether it counts here. Null elsewhere.
   */
  verdict: TrustVerdict | null;
  /**
   * What holds a sidecar's name of the file without being a file (a folder, a symbolic link, a submodule): never
   * read, so the file counts as unsigned; each with why and the fix. Absent when there is none.
   */
  unread?: { path: string; is: UnreadSidecar['is']; reason: string; fix: string }[];
}

export interface TaskSignatures {
  id: string;
  /** The month folder when the task was found on the archive branch, else null. */
  archived: string | null;
  /**
   * The signers the files were checked against: how many keys, and the lines that could not be used. On a node that
   * pinned the trust root, the version it accepts (`source: 'accepted'`, with its number); elsewhere the bus's copy
   * trust/allowed_signers (`source: 'bus-copy'`), which anyone with push access can edit: names from it are claims.
   */
  allowedSigners: { path: string; entries: number; problems: FileProblem[]; source: 'accepted' | 'bus-copy'; version?: number } | null;
  /** Each file of the task in order: handoff, claims and releases by attempt, cancel, response. */
  files: VerifiedFile[];
  offline: Offline | null;
}

/** trust/allowed_signers of the commit with root tree `rootTree`, or null when the bus has none. */
export async function readAllowedSigners(store: ObjectStore, rootTree: string): Promise<AllowedSigners | null> {
  const entry = (await listFolder(store, rootTree, 'trust')).find((e) => e.path === 'allowed_signers' && e.type === 'blob');
  if (!entry) return null;
  return parseAllowedSigners(new TextDecoder().decode(await store.readBlob(entry.oid)), ALLOWED_SIGNERS_PATH);
}

/** The path a file of an archived task had in main, from its name in the archive folder. */
function livePathOf(month: string, id: string, name: string): string | null {
  const p = parseArchivePath(`${month}/${id}/${name}`);
  return 'location' in p ? pathFor(p.location) : null;
}

/**
 * Checks the signatures of every file of one task and, on a node that enforces trust, gives each the verdict this
 * node acts on — read-only: it reports, it changes nothing on the bus. A task that left main is read from the archive
 * branch with its sidecars (from main for a task archived before they moved too).
 */
export async function verifyTask(ctx: BusContext, ref: string, opts: { now?: Date } = {}): Promise<TaskSignatures> {
  const { snap, offline } = await snapshotOrLast(ctx);
  const store = snap.store;
  const rootTree = snap.commit ? await store.readCommitTree(snap.commit) : null;
  // A node that pinned the root never names signers from the bus's unsigned copy (PROTOCOL.md §12): it checks
  // against the version it accepts, as its watcher does.
  const pin = loadPin(ctx.paths.home);
  const trust = pin ? await enforcedTrust(snap, ctx.paths.home, ctx.config) : null;
  const accepted = pin ? (trust?.accepted ?? acceptedOf(pin, ctx.paths.home)) : null;
  const allowed = accepted ? accepted.signers : rootTree ? await readAllowedSigners(store, rootTree) : null;
  const now = opts.now ?? new Date();
  /**
   * `handoff`: the verdict on the task's handoff, worked out by the caller (live and archived differ). `archived`: an
   * archived file's sidecars (undefined: read from main, where a task archived before they moved has them), what
   * holds a sidecar's name there without being a file, and its path on the archive branch, which a verdict's fix names.
   */
  const check = async (path: string, oid: string, archived?: { sidecars: Sidecar[] | undefined; unread?: UnreadSidecar[]; at: string }, handoff?: (bytes: Uint8Array, sidecars: Sidecar[], unread: UnreadSidecar[]) => Promise<TrustVerdict>): Promise<VerifiedFile> => {
    const found = archived?.sidecars ? { sidecars: archived.sidecars, unread: archived.unread ?? [] } : rootTree ? await readSidecarsOf(store, rootTree, path) : { sidecars: [], unread: [] };
    const { sidecars } = found;
    const bytes = await store.readBlob(oid);
    const file = checkFileSignatures(path, bytes, sidecars, allowed, now);
    // Only when nothing readable signs it: a sidecar that verifies is the file's signature whatever else is there.
    const unread = sidecars.length > 0 ? [] : found.unread.map((u) => ({ path: u.path, is: u.is, ...unreadSidecarWords(u, path, signAgainWords(path)) }));
    const notRead = unread.length > 0 ? { unread } : {};
    if (!trust) return { ...file, verdict: null, ...notRead };
    return { ...file, verdict: handoff ? await handoff(bytes, sidecars, sidecars.length > 0 ? [] : found.unread) : nodeFileStanding(path, bytes, sidecars, trust, now, archived?.at, found.unread[0]), ...notRead };
  };
  const allowedSigners = !allowed ? null : accepted ? { path: 'trust/allowed_signers', entries: allowed.entries.length, problems: allowed.problems, source: 'accepted' as const, version: accepted.version } : { path: 'trust/allowed_signers', entries: allowed.entries.length, problems: allowed.problems, source: 'bus-copy' as const };
  const id = await liveTaskId(ctx, snap, ref, offline !== null);
  if (id) {
    const f = snap.index.tasks.get(id);
    if (!f) throw new UnknownTaskError(ref);
    const taskId = id;
    const files: VerifiedFile[] = [];
    if (f.handoff) files.push(await check(f.handoff.path, f.handoff.oid, undefined, trust ? async () => liveHandoffVerdict(ctx, snap, trust, taskId, offline !== null) : undefined));
    for (const r of filesInShowOrder(f)) if (r !== f.handoff) files.push(await check(r.path, r.oid));
    // Files this node took out of the task as forged (bus/trust/node-files.ts) are on the bus all the same: listed,
    // with why they do not count here.
    for (const forged of snap.forged) {
      if (forged.id !== id || !rootTree) continue;
      const slash = forged.path.lastIndexOf('/');
      const entry = (await listFolder(store, rootTree, forged.path.slice(0, slash))).find((e) => e.path === forged.path.slice(slash + 1) && e.type === 'blob');
      if (!entry) continue;
      const file = await check(forged.path, entry.oid);
      files.push({ ...file, verdict: { trusted: false, reason: forged.reason, fix: forged.fix } });
    }
    files.sort((a, b) => byShowOrder(a.path, b.path));
    return { id, archived: null, allowedSigners, files, offline };
  }
  if (offline) throw new UnknownTaskError(ref);
  const entry = (await findArchived(ctx, [ref], { thorough: true })).get(ref);
  if (!entry) throw new UnknownTaskError(ref);
  const files: VerifiedFile[] = [];
  const live = [...entry.files].flatMap(([name, oid]) => {
    const path = livePathOf(entry.month, ref, name);
    return path ? [{ name, path, oid }] : [];
  });
  live.sort((a, b) => byShowOrder(a.path, b.path));
  // Signatures moved to the archive with their files (signatures/<month>/<id>/<name>.sig); a task archived before
  // they did has them in main still.
  const dir = `${SIGNATURES_FOLDER}/${entry.month}/${ref}`;
  const archivedSigs = entry.signatures;
  // How it ended as this node counts it (a forged end is no end: `invalid`), as show says it.
  const state = trust ? (await countedArchive(ctx, ref, entry, trust, now)).entry.state : entry.state;
  for (const f of live) {
    const sig = archivedSigs.get(`${f.name}${SIGNATURE_EXT}`);
    // What holds the sidecar's name in the archive without being a file is what is there: main is not read instead.
    const unread = sig ? undefined : archivedUnreadSidecar(entry, ref, f.name);
    const sidecars = sig ? [{ path: `${dir}/${f.name}${SIGNATURE_EXT}`, content: await store.readBlob(sig, MAX_SIGNATURE_FILE) }] : unread ? [] : undefined;
    const handoff = trust && f.path.startsWith('handoffs/') ? async (bytes: Uint8Array, all: Sidecar[], unreadAll: UnreadSidecar[]) => archivedHandoffVerdict(f.path, bytes, all, snap, { name: ctx.config.node, labels: ctx.config.labels }, trust, state, now, unreadAll) : undefined;
    files.push(await check(f.path, f.oid, { sidecars, ...(unread ? { unread: [unread] } : {}), at: `${entry.month}/${ref}/${f.name}` }, handoff));
  }
  return { id: ref, archived: entry.month, allowedSigners, files, offline: null };
}
