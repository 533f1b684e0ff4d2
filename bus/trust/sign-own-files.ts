import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from '../node-fs-async.js';
import { join } from 'node:path';
import { signaturePathFor } from '../../schemas/signature-layout.js';
import { transact } from '../cas.js';
import type { BusContext } from '../context.js';
import { writeFileAtomic } from '../local-io.js';
import { Snapshot } from '../model/snapshot.js';
import type { FileRef } from '../model/types.js';
import { listFolder, type FileChange } from '../store/objects.js';
import { ensureNodeKey, nodeKeyPaths } from './node-key.js';
import { trustOf } from './node-files.js';
import { loadEd25519Key, signBusFileInProcess } from './node-signer.js';

/**
 * Signs the files this node wrote before it signed them (docs/PROTOCOL.md §12, "Files a node writes"): when a node
 * first enforces a trust root, its claims, releases, responses and card already on the bus carry no signature, and
 * once an admin lists its key they would read as forged — a task it finished would look unfinished and run again.
 *
 * Only the files that were on the bus at the moment of pinning are signed: `gitbus trust pin` and `trust init`
 * record them (path and blob) in `own-files-pending.json`, and the pass signs exactly those, unchanged. Like
 * pinning the admins' keys, this trusts what the bus holds at that one moment. A node that pinned at `join` wrote
 * nothing unsigned, so join writes the done marker at once. Anything that appears in its name later unsigned stays
 * forged: a node never signs a file because it merely carries its name.
 */

export function ownFilesMarker(home: string): string {
  return join(nodeKeyPaths(home).dir, 'own-files-signed.json');
}

export function ownFilesPending(home: string): string {
  return join(nodeKeyPaths(home).dir, 'own-files-pending.json');
}

export interface SignedOwnFiles {
  signed: string[];
  /** False when this node does not enforce trust, or did this already (the marker exists). */
  ran: boolean;
}

/** The live files in `node`'s name on `raw` (the commit as it is, not as trust filters it) that carry no sidecar. */
async function unsignedFilesOf(raw: Snapshot, node: string): Promise<FileRef[]> {
  const signedAlready = new Set<string>();
  if (raw.commit) {
    const tree = await raw.store.readCommitTree(raw.commit);
    for (const folder of ['claims', 'releases', 'responses', 'deliveries', 'nodes']) {
      for (const e of await listFolder(raw.store, tree, `signatures/${folder}`)) signedAlready.add(`signatures/${folder}/${e.path}`);
    }
  }
  const mine: FileRef[] = [];
  const consider = async (ref: FileRef | undefined) => {
    if (!ref || signedAlready.has(signaturePathFor(ref.path))) return;
    const p = await raw.parse<{ node?: unknown }>(ref);
    if (p.ok && p.data.node === node) mine.push(ref);
  };
  for (const f of raw.index.tasks.values()) {
    for (const c of f.claims.values()) await consider(c);
    for (const rel of f.releases.values()) await consider(rel);
    await consider(f.response);
    for (const d of f.deliveries?.values() ?? []) await consider(d);
  }
  await consider(raw.index.nodes.get(node));
  return mine;
}

/** At join with a pin: the node signs everything it writes from its first file on, so there is nothing to sign later. */
export async function markOwnFilesSigned(home: string, now = new Date()): Promise<void> {
  await mkdir(nodeKeyPaths(home).dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(ownFilesMarker(home), `${JSON.stringify({ at: now.toISOString(), signed: 0, how: 'join' })}\n`);
}

/**
 * At pin time (`trust pin`, `trust init`): the unsigned files in this node's name on main now, which the next
 * signing pass may sign (and nothing else). `commit` is main as the pin read it.
 */
export async function recordOwnFiles(ctx: BusContext, commit: string | null, now = new Date()): Promise<number> {
  const files = commit ? (await unsignedFilesOf(await Snapshot.read(ctx.repo.store, commit), ctx.config.node)).map((r) => ({ path: r.path, oid: r.oid })) : [];
  await mkdir(nodeKeyPaths(ctx.paths.home).dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(ownFilesPending(ctx.paths.home), `${JSON.stringify({ at: now.toISOString(), files })}\n`);
  return files.length;
}

/** The files recorded at pin time; none when there is no record or it cannot be read (nothing is signed then). */
function pendingFiles(home: string): Set<string> {
  try {
    const v = JSON.parse(readFileSync(ownFilesPending(home), 'utf8')) as { files?: unknown };
    const out = new Set<string>();
    if (Array.isArray(v.files)) {
      for (const f of v.files as unknown[]) {
        const r = f as { path?: unknown; oid?: unknown };
        if (typeof r.path === 'string' && typeof r.oid === 'string') out.add(`${r.path} ${r.oid}`);
      }
    }
    return out;
  } catch {
    return new Set();
  }
}

export async function signOwnFiles(ctx: BusContext, opts: { force?: boolean; now?: Date } = {}): Promise<SignedOwnFiles> {
  const home = ctx.paths.home;
  const marker = ownFilesMarker(home);
  if (!opts.force && existsSync(marker)) return { signed: [], ran: false };
  const pending = pendingFiles(home);
  const r = await transact(ctx, 'sign own files', async (snap) => {
    if (!trustOf(snap)) return { result: { signed: [] as string[], ran: false } };
    // The raw commit: files in this node's name that this node's trust would call forged, recorded at pin time
    // with the same content, are exactly the ones to sign.
    const raw = await Snapshot.read(ctx.repo.store, snap.commit);
    const mine = (await unsignedFilesOf(raw, ctx.config.node)).filter((ref) => pending.has(`${ref.path} ${ref.oid}`));
    if (mine.length === 0) return { result: { signed: [] as string[], ran: true } };
    const key = loadEd25519Key((await ensureNodeKey(home, ctx.config.node)).privatePath);
    const changes: FileChange[] = [];
    for (const ref of mine) changes.push(signBusFileInProcess(key, ref.path, await raw.store.readBlob(ref.oid)));
    return { result: { signed: mine.map((m) => m.path), ran: true }, commit: { changes, message: `gitbus: ${ctx.config.node} signs ${mine.length} file(s) it wrote before it signed its files` } };
  });
  if (r.ran) {
    await mkdir(nodeKeyPaths(home).dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(marker, `${JSON.stringify({ at: (opts.now ?? new Date()).toISOString(), signed: r.signed.length })}\n`);
    await rm(ownFilesPending(home), { force: true });
  }
  return { signed: r.signed, ran: r.ran };
}
