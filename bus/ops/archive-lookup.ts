import { parseArchivedFile } from '../../schemas/bus-file.js';
import type { TaskResponse as Response } from '../../schemas/response.js';
import type { BusContext } from '../context.js';
import type { TaskState } from '../model/types.js';
import { ARCHIVE } from '../repo.js';
import { existsSync } from 'node:fs';
import { pathFor } from '../../schemas/layout.js';
import { listFolder } from '../store/objects.js';
import type { EnforcedTrust } from '../trust/handoff-trust.js';
import { nodeFileVerdict } from '../trust/node-file-trust.js';
import { acceptedOf, loadPin, pinPath } from '../trust/pin.js';

/**
 * Final states of archived tasks, for dependencies (`after`) on tasks that have left main. Fetches the archive
 * branch only when asked about an id that is not live, so normal work never reads the archive.
 */
export async function archivedStates(ctx: BusContext, ids: string[]): Promise<Map<string, TaskState>> {
  const out = new Map<string, TaskState>();
  if (ids.length === 0) return out;
  const found = await findArchived(ctx, ids);
  const trust = acceptedTrust(ctx);
  for (const [id, entry] of found) {
    // Anyone with push access can write the archive too: on a node that enforces trust an archived end counts only
    // when its response was written by the node it names (bus/trust/node-file-trust.ts); else it reads as unknown.
    if (trust && !(await archivedEndCounts(ctx, id, entry, trust))) continue;
    out.set(id, entry.state);
  }
  return out;
}

function acceptedTrust(ctx: BusContext): EnforcedTrust | null {
  const pin = existsSync(pinPath(ctx.paths.home)) ? loadPin(ctx.paths.home) : null;
  return pin ? { accepted: acceptedOf(pin, ctx.paths.home), node: ctx.config.trust ?? {} } : null;
}

async function archivedEndCounts(ctx: BusContext, id: string, entry: ArchivedTask, trust: EnforcedTrust): Promise<boolean> {
  const resp = entry.files.get('response.md');
  if (!resp) return true; // ended by a cancel, which stops work and is never verified (docs/PROTOCOL.md §12)
  const store = ctx.repo.store;
  const bytes = await store.readBlob(resp);
  const parsed = parseArchivedFile(`${entry.month}/${id}/response.md`, bytes);
  const node = parsed.ok && typeof (parsed.file.data as Partial<Response>).node === 'string' ? ((parsed.file.data as Response).node) : null;
  const sig = (await listFolder(store, entry.tree, `signatures/${entry.month}/${id}`)).find((e) => e.path === 'response.md.sig' && e.type === 'blob');
  const sidecar = sig ? await store.readBlob(sig.oid) : undefined;
  const path = pathFor({ kind: 'response', id });
  return nodeFileVerdict({ path, bytes, node, ...(sidecar ? { sidecar } : {}) }, trust.accepted, trust.node, new Date()).counts;
}

export interface ArchivedTask {
  month: string;
  /** The root tree of the archive commit it was found in, to read more of it (its signatures). */
  tree: string;
  state: TaskState;
  /** File name inside the task's archive folder -> blob oid. */
  files: Map<string, string>;
}

export async function findArchived(ctx: BusContext, ids: string[]): Promise<Map<string, ArchivedTask>> {
  const out = new Map<string, ArchivedTask>();
  // The archive moves about once a day; the listing this decision (or this watcher wake) just made is recent
  // enough, so a dependency on a task that is nowhere costs no extra round trip per wake.
  const head = await ctx.repo.sync(ARCHIVE, { maxAgeMs: 2_000 });
  if (!head) return out;
  const store = ctx.repo.store;
  const tree = await store.readCommitTree(head);
  const root = await store.readTree(tree);
  const months = root.filter((e) => e.type === 'tree' && /^\d{4}-\d{2}$/.test(e.path)).sort((a, b) => (a.path < b.path ? 1 : -1));
  const wanted = new Set(ids);
  for (const month of months) {
    if (wanted.size === 0) break;
    for (const entry of await store.readTree(month.oid)) {
      if (!wanted.has(entry.path) || entry.type !== 'tree') continue;
      wanted.delete(entry.path);
      const files = new Map((await store.readTree(entry.oid)).filter((f) => f.type === 'blob').map((f) => [f.path, f.oid] as const));
      let state: TaskState = 'cancelled';
      const resp = files.get('response.md');
      if (resp) {
        const r = parseArchivedFile(`${month.path}/${entry.path}/response.md`, await store.readBlob(resp));
        state = r.ok ? (r.file.data as Response).status : 'failed';
      }
      out.set(entry.path, { month: month.path, tree, state, files });
    }
  }
  return out;
}
