import { existsSync } from 'node:fs';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { classifyPath, pathFor } from '../../schemas/layout.js';
import { signaturePathFor } from '../../schemas/signature-layout.js';
import type { BusContext } from '../context.js';
import { Snapshot } from '../model/snapshot.js';
import type { FileRef, ForgedFile, TaskFiles } from '../model/types.js';
import { listFolder, type FileChange } from '../store/objects.js';
import { enforcedTrust } from './enforce.js';
import type { EnforcedTrust } from './handoff-trust.js';
import { signedKindOf } from './messages.js';
import { nodeKeyPaths, ensureNodeKey } from './node-key.js';
import { addNodeCommand, nodeKeysIn } from './node-key-status.js';
import { listsNode, unlistedNodesOf } from './node-keys.js';
import type { TrustVersion } from './version-content.js';
import { checkNodeFileSignature, nodeFileVerdict } from './node-file-trust.js';
import { notAFile, type UnreadSidecar } from './file-signatures.js';
import { loadEd25519Key, signBusFileInProcess } from './node-signer.js';
import { MAX_SIGNATURE_FILE, type SignatureCheck } from './sshsig.js';
import { noteClaimed, noteEnded } from './seen-ended.js';
import { overrideProblem, trustedSettings } from './trusted-settings.js';
import { filterTaskFiles, type JudgedFile } from './task-file-filter.js';

/**
 * Files a node writes in its own name (docs/PROTOCOL.md §12, "Files a node writes"), thin I/O around
 * node-file-trust.ts. On a node that enforces trust, every snapshot it decides from is read through
 * `readTrustedSnapshot`: a claim, release, response or node card forged in a node's name is taken out of the
 * index before the task model sees it (a forged claim does not hold a task, a forged response does not end it, a
 * forged card is not shown) and is listed in `snap.forged`. Every such file this node writes is signed with its
 * own key, in the same commit (`signNodeChanges`, called by the compare-and-swap). The bus settings the accepted
 * version fixes (lease, heartbeat, maxAttempts) replace gitbus.yaml's in `snap.settings` (trusted-settings.ts).
 */

const enforced = new WeakMap<Snapshot, EnforcedTrust | null>();

/** The trust `snap` was read under (readTrustedSnapshot), or undefined when it was read without asking. */
export function trustOf(snap: Snapshot): EnforcedTrust | null | undefined {
  return enforced.get(snap);
}

/** Signature checks by (path, blob, sidecar blob): pure, so an entry never goes stale. */
const checks = new Map<string, SignatureCheck>();
const CHECK_CACHE_LIMIT = 50_000;

/** Reads `head` of main, with forged node files taken out when this node enforces trust. */
export async function readTrustedSnapshot(ctx: BusContext, head: string | null): Promise<Snapshot> {
  const snap = await Snapshot.read(ctx.repo.store, head);
  await applyTrust(snap, ctx);
  return snap;
}

/** Applies this node's trust to a snapshot read without it (once; a second call does nothing). */
export async function applyTrust(snap: Snapshot, ctx: Pick<BusContext, 'paths' | 'config'>, now = new Date()): Promise<EnforcedTrust | null> {
  const known = enforced.get(snap);
  if (known !== undefined) return known;
  const trust = await enforcedTrust(snap, ctx.paths.home, ctx.config);
  enforced.set(snap, trust);
  if (trust) {
    // Lease, heartbeat and maxAttempts decide reclaims: the version's values count, not gitbus.yaml's (anyone can push it).
    const s = trustedSettings(snap.settings, snap.settingsFile, trust.accepted.policy.settings, trust.accepted.version);
    snap.settings = s.settings;
    snap.settingsOverridden = s.overridden;
    snap.settingsProblems.push(...s.overridden.map(overrideProblem));
    await filterNodeFiles(snap, trust, now);
    // What ended or was claimed here is remembered, so that deleting its end or claim later cannot make this node run it again.
    await noteEnded(ctx.paths.home, snap);
  }
  return trust;
}

const NODE_SIDECAR_FOLDERS = ['claims', 'releases', 'responses', 'deliveries', 'nodes'] as const;

/** The sidecars of node files by the path they sign, and what holds a sidecar's name without being a file (never read). */
async function sidecarsOf(snap: Snapshot): Promise<{ sidecars: Map<string, string>; unread: Map<string, UnreadSidecar> }> {
  const sidecars = new Map<string, string>();
  const unread = new Map<string, UnreadSidecar>();
  if (!snap.commit) return { sidecars, unread };
  const tree = await snap.store.readCommitTree(snap.commit);
  for (const folder of NODE_SIDECAR_FOLDERS) {
    for (const e of await listFolder(snap.store, tree, `signatures/${folder}`)) {
      const signed = `${folder}/${e.path.slice(0, -'.sig'.length)}`;
      const is = notAFile(e);
      if (is === null) sidecars.set(signed, e.oid);
      else if (e.path.endsWith('.sig')) unread.set(signed, { path: `signatures/${folder}/${e.path}`, is });
    }
  }
  return { sidecars, unread };
}

async function filterNodeFiles(snap: Snapshot, trust: EnforcedTrust, now: Date): Promise<void> {
  const { sidecars, unread } = await sidecarsOf(snap);
  const judge = async (ref: FileRef, kind: ForgedFile['kind'], fileNode?: string): Promise<JudgedFile> => {
    let node: string | null = fileNode ?? null;
    let data: Record<string, unknown> | null = null;
    if (fileNode === undefined) {
      const p = await snap.parse<Record<string, unknown>>(ref);
      data = p.ok ? p.data : null;
      node = typeof data?.['node'] === 'string' ? data['node'] : null;
    }
    const sidecarOid = sidecars.get(ref.path);
    let check: SignatureCheck | undefined;
    if (sidecarOid !== undefined) {
      // Blobs never change: a check is made once per process, and the file's bytes are read only for it.
      const key = `${ref.path}\0${ref.oid}\0${sidecarOid}`;
      check = checks.get(key);
      // A file over the size limit does not parse whoever signed it, so it is judged unsigned; reading it whole would
      // stop every read of this node at a blob over the object cap (OBJECT_TOO_LARGE), pushed with any sidecar beside it.
      const bytes = check ? null : await snap.store.readBlobUpTo(ref.oid, MAX_FILE_BYTES);
      if (bytes !== null && typeof bytes !== 'number') {
        check = checkNodeFileSignature(ref.path, bytes, await snap.store.readBlob(sidecarOid, MAX_SIGNATURE_FILE));
        if (checks.size >= CHECK_CACHE_LIMIT) checks.clear();
        checks.set(key, check);
      }
    }
    const notRead = unread.get(ref.path);
    const v = nodeFileVerdict({ path: ref.path, node, ...(check ? { check } : {}), ...(notRead ? { unread: notRead } : {}) }, trust.accepted, trust.node, now);
    return v.counts ? { forged: null, path: ref.path, where: ref.path, signed: v.signed, node: v.node, data } : { forged: { path: ref.path, kind, node: v.node, reason: v.reason, fix: v.fix } };
  };
  // The index's map is shared with the process-wide index memo (bus/model/index-tree.ts): replaced, never edited.
  const kept = new Map<string, TaskFiles>();
  for (const [id, files] of snap.index.tasks) {
    const k = await filterTaskFiles(files, judge, snap.forged);
    if (k !== files) kept.set(id, k);
  }
  if (kept.size > 0) snap.index.tasks = new Map([...snap.index.tasks].map(([id, f]) => [id, kept.get(id) ?? f]));
  for (const [node, ref] of [...snap.index.nodes]) {
    const { forged } = await judge(ref, 'node', node);
    if (forged) {
      snap.index.nodes.delete(node);
      snap.forged.push(forged);
    }
  }
}

const NODE_KINDS = new Set(['claim', 'release', 'response', 'delivery', 'node']);

/**
 * Adds the node's signature of every claim, release, response and card in `changes` (same commit), when this node
 * enforces trust on `snap`. The key is made if this node has none yet (a node pinned before node keys existed).
 */
export async function signNodeChanges(ctx: Pick<BusContext, 'paths' | 'config'>, snap: Snapshot, changes: FileChange[]): Promise<FileChange[]> {
  if (!trustOf(snap)) return changes;
  const toSign = changes.filter((c) => (typeof c.content === 'string' || c.content instanceof Uint8Array) && NODE_KINDS.has(signedKindOf(c.path) ?? ''));
  if (toSign.length === 0) return changes;
  const { privatePath } = nodeKeyPaths(ctx.paths.home);
  if (!existsSync(privatePath)) await ensureNodeKey(ctx.paths.home, ctx.config.node);
  const key = loadEd25519Key(privatePath);
  const sidecars: FileChange[] = toSign.map((c) => signBusFileInProcess(key, c.path, c.content as string | Uint8Array));
  return [...changes, ...sidecars];
}

/**
 * Records the claims this node just pushed (`changes`, decided from `snap`) as seen, when it enforces trust on
 * `snap`: its own running task is then refused here too if its claim is removed, before any later read shows it.
 */
export function noteOwnClaims(ctx: Pick<BusContext, 'paths'>, snap: Snapshot, changes: readonly FileChange[]): void {
  if (!trustOf(snap)) return;
  const claims: [string, number][] = [];
  for (const c of changes) {
    const where = c.content === null ? undefined : classifyPath(c.path);
    if (where && 'kind' in where && where.kind === 'claim') claims.push([where.id, where.attempt]);
  }
  try {
    if (claims.length > 0) noteClaimed(ctx.paths.home, claims);
  } catch {
    // The push went through: failing it now (a full disk) would lose the claim's run. The next read records it.
  }
}

/** The node card's path and its sidecar's, for code that rewrites both. */
export function cardPaths(node: string): { card: string; sidecar: string } {
  const card = pathFor({ kind: 'node', node });
  return { card, sidecar: signaturePathFor(card) };
}

/**
 * Why this node must claim nothing under `v` (null: it may claim): what it writes would count as forged on every
 * node that enforces trust, so a task it ran would run again elsewhere and its result be refused
 * (docs/PROTOCOL.md §12, "Node keys"). Either `v` lists no key for it and refuses unlisted nodes, or `v` lists
 * another key for it than the one in its home: it rotated its key (`gitbus trust node-key --rotate`) and no admin
 * listed the new one yet, or another machine took the name over.
 */
export function whyClaimNothing(home: string, node: string, v: TrustVersion): { reason: string; fix: string } | null {
  const listed = nodeKeysIn(v, node).map((k) => k.fingerprint);
  if (listed.length === 0) {
    if (unlistedNodesOf(v) === 'accept') return null;
    return { reason: `this node's key is not listed in trust version ${v.version}, which refuses unlisted nodes (unlistedNodes: refuse): its claim would count as forged`, fix: `an admin lists it: "gitbus trust add node ${node}"` };
  }
  const { privatePath } = nodeKeyPaths(home);
  let own: string | null = null;
  try {
    own = existsSync(privatePath) ? loadEd25519Key(privatePath).key.fingerprint : null;
  } catch (err) {
    // Signing would fail too: said as doctor says it, not as a key that is missing.
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    return {
      reason: `this node's key ${privatePath} cannot be read (${why}), so what it writes cannot be signed with the key trust version ${v.version} lists for ${node} (${listed.join(', ')}): its claim would count as forged`,
      fix: `put the key back from a backup, or move it aside and make a new one with "gitbus trust node-key --rotate" and have an admin list it`,
    };
  }
  if (own !== null && listed.includes(own)) return null;
  return {
    reason: `this node's key ${own ?? `(none in ${privatePath})`} is not the one trust version ${v.version} lists for ${node} (${listed.join(', ')}): its claim would count as forged`,
    fix: own !== null ? `an admin checks the fingerprint with you and runs: ${addNodeCommand(node, own)}` : `restore ${privatePath} from a backup, or make a new key with "gitbus trust node-key --rotate" and have an admin list it`,
  };
}

/**
 * The silent holders whose claims this node may take over (reclaim) or end (reap): all of `expired`, except, on a
 * node that enforces trust and whose own key the accepted version does not list, the nodes it does list. What this
 * node wrote over their claims would count as forged on every node that enforces trust, its own included
 * (task-file-filter.ts), so it would only write it again at its next look.
 */
export function holdersToTakeOver(trust: EnforcedTrust | null | undefined, self: string, expired: Set<string>): Set<string> {
  if (!trust || expired.size === 0 || listsNode(trust.accepted, self)) return expired;
  return new Set([...expired].filter((n) => !listsNode(trust.accepted, n)));
}
