import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
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
 * So, once, it adds a sidecar to each live file in its name that has none: like pinning the admins' keys, this
 * trusts what the bus holds at that first moment. Files that appear in its name later unsigned stay forged.
 */

export function ownFilesMarker(home: string): string {
  return join(nodeKeyPaths(home).dir, 'own-files-signed.json');
}

export interface SignedOwnFiles {
  signed: string[];
  /** False when this node does not enforce trust, or did this already (the marker exists). */
  ran: boolean;
}

export async function signOwnFiles(ctx: BusContext, opts: { force?: boolean; now?: Date } = {}): Promise<SignedOwnFiles> {
  const marker = ownFilesMarker(ctx.paths.home);
  if (!opts.force && existsSync(marker)) return { signed: [], ran: false };
  const r = await transact(ctx, 'sign own files', async (snap) => {
    if (!trustOf(snap)) return { result: { signed: [] as string[], ran: false } };
    // The raw commit: files in this node's name that this node's trust would call forged are exactly the ones to sign.
    const raw = await Snapshot.read(ctx.repo.store, snap.commit);
    const signedAlready = new Set<string>();
    if (raw.commit) {
      const tree = await raw.store.readCommitTree(raw.commit);
      for (const folder of ['claims', 'releases', 'responses', 'nodes']) {
        for (const e of await listFolder(raw.store, tree, `signatures/${folder}`)) signedAlready.add(`signatures/${folder}/${e.path}`);
      }
    }
    const mine: FileRef[] = [];
    const consider = async (ref: FileRef | undefined) => {
      if (!ref || signedAlready.has(signaturePathFor(ref.path))) return;
      const p = await raw.parse<{ node?: unknown }>(ref);
      if (p.ok && p.data.node === ctx.config.node) mine.push(ref);
    };
    for (const f of raw.index.tasks.values()) {
      for (const c of f.claims.values()) await consider(c);
      for (const rel of f.releases.values()) await consider(rel);
      await consider(f.response);
    }
    await consider(raw.index.nodes.get(ctx.config.node));
    if (mine.length === 0) return { result: { signed: [] as string[], ran: true } };
    const key = loadEd25519Key((await ensureNodeKey(ctx.paths.home, ctx.config.node)).privatePath);
    const changes: FileChange[] = [];
    for (const ref of mine) changes.push(signBusFileInProcess(key, ref.path, await raw.store.readBlob(ref.oid)));
    return { result: { signed: mine.map((m) => m.path), ran: true }, commit: { changes, message: `gitbus: ${ctx.config.node} signs ${mine.length} file(s) it wrote before it signed its files` } };
  });
  if (r.ran) await mkdir(nodeKeyPaths(ctx.paths.home).dir, { recursive: true, mode: 0o700 });
  if (r.ran) await writeFileAtomic(marker, `${JSON.stringify({ at: (opts.now ?? new Date()).toISOString(), signed: r.signed.length })}\n`);
  return { signed: r.signed, ran: r.ran };
}
