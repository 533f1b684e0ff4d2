import { refuseIfLeft } from '../left-home.js';
import { existsSync } from 'node:fs';
import { readFile, rename } from '../node-fs-async.js';
import { firstLine, GitbusError } from '../../schemas/errors.js';
import type { TrustSettings, UnlistedNodes } from '../../schemas/trust-root.js';
import type { BusContext } from '../context.js';
import { Snapshot } from '../model/snapshot.js';
import { publishNodeCard } from '../ops/node-card-publish.js';
import { MAIN } from '../repo.js';
import { adminPrincipalsOf } from './chain.js';
import { readKeyFile } from './key-file.js';
import { ensureNodeKey, nodeKeyPaths } from './node-key.js';
import { addNodeCommand, defaultUnlistedNodes, nodeKeysIn, offeredKey, ownKeyStanding } from './node-key-status.js';
import { unlistedNodesOf } from './node-keys.js';
import { loadTrust } from './root.js';
import { pinCommand } from './enforcing-nodes.js';
import { NodeKeyDeclinedError, NodeKeyMismatchError, NodeKeyNotOfferedError, NodeKeyUnconfirmedError, NoTrustRootError, TrustNotPinnedError } from './root-errors.js';
import type { SshPublicKey } from './ssh-key.js';
import { resolveSigningKey, type SigningKey } from './signing-key.js';
import { currentTrustSettings } from './trusted-settings.js';
import { trustChange, trustInit, type InitOptions, type TrustWriteResult } from './write.js';

/**
 * Node keys in the trust root (docs/PROTOCOL.md §12, "Node keys"): the node's own key made, offered on its card and
 * listed (at `trust init`, after join and pin, `trust node-key`), and an admin listing another node's key
 * (`trust add node`), from its card only after a person checked the fingerprint.
 */

async function currentSnapshot(ctx: BusContext): Promise<Snapshot> {
  return Snapshot.read(ctx.repo.store, await ctx.repo.sync(MAIN));
}

export interface TrustInitResult extends TrustWriteResult {
  /** This node, listed in version 1 with its own key. */
  node: { node: string; fingerprint: string; created: boolean };
  /** What version 1 says of nodes it does not list, and why. */
  unlistedNodes: { value: UnlistedNodes; why: string; chosen: 'flag' | 'default' };
  /** The bus settings version 1 fixes: gitbus.yaml's lease, heartbeat and maxAttempts. */
  settings: TrustSettings;
  /**
   * The other nodes on the bus: they joined before the root, so they run any handoff, signed or not, until a person
   * pins it on each with `command` (docs/PROTOCOL.md §12, "Pinning"). Nodes that join later pin it as they join.
   */
  unpinned: { nodes: string[]; command: string };
}

/**
 * `gitbus trust init`: version 1 lists this node's own key (made now if missing) beside the admins, and says
 * `refuse` for unlisted nodes when this is the bus's only node, else `accept`; the card then offers the key.
 */
export async function initTrustRoot(ctx: BusContext, opts: Omit<InitOptions, 'nodes' | 'settings'> & { unlistedNodes?: UnlistedNodes }): Promise<TrustInitResult> {
  const node = ctx.config.node;
  // Asked before the root is written: its card, published after it, would be refused in a home whose node left.
  refuseIfLeft(ctx.paths.home, node, ctx.config.remote);
  const own = await ensureNodeKey(ctx.paths.home, node);
  const snap = await currentSnapshot(ctx);
  const unlisted = opts.unlistedNodes
    ? { value: opts.unlistedNodes, why: 'as --unlisted-nodes says', chosen: 'flag' as const }
    : { ...defaultUnlistedNodes(node, [...snap.index.nodes.keys()]), chosen: 'default' as const };
  // The settings that decide reclaims are fixed from the start, as gitbus.yaml has them now (defaults where it is silent).
  const settings = currentTrustSettings(snap.settingsFile);
  const { unlistedNodes: _, ...init } = opts;
  const r = await trustInit(ctx, { ...init, nodes: { nodes: [{ node, key: own.key }], unlistedNodes: unlisted.value }, settings });
  await publishNodeCard(ctx, opts.now);
  const fingerprints = [...new Set(opts.admins.map((a) => a.key.fingerprint))];
  const unpinned = { nodes: [...snap.index.nodes.keys()].filter((n) => n !== node).sort(), command: pinCommand(fingerprints) };
  return { ...r, node: { node, fingerprint: own.key.fingerprint, created: own.created }, unlistedNodes: unlisted, settings, unpinned };
}

/** Where this node's key stands after join, pin or `trust node-key`. */
export type OwnListing =
  /** The accepted version lists this key for this node. */
  | { status: 'listed'; version: number }
  /** This command listed it: the node's configured signing key is an admin's (threshold 1). */
  | { status: 'written'; version: number; digest: string }
  /** This command proposed the version listing it; other admins sign it (`gitbus trust sign VERSION`). */
  | { status: 'proposed'; version: number; digest: string; needed: number; waitingFor: string[] }
  /** An admin must list it: `command` is what they run, `why` why this node could not. */
  | { status: 'awaiting-admin'; version: number; why: string; command: string; unlistedNodes: UnlistedNodes; replaces: string[] }
  /** This node has not pinned the bus's trust root: nothing to be listed in. */
  | { status: 'no-trust'; why: string };

export interface OwnNodeKeyResult {
  node: string;
  fingerprint: string;
  /** `ssh-ed25519 AAAA...`, as the card offers it. */
  key: string;
  /** Made by this command. */
  created: boolean;
  /** The key `rotate` moved aside. */
  previous: { fingerprint: string; path: string } | null;
  listing: OwnListing;
}

async function moveKeyAside(home: string, now: Date): Promise<{ fingerprint: string; path: string } | null> {
  const { privatePath, publicPath } = nodeKeyPaths(home);
  if (!existsSync(privatePath)) return null;
  let old = 'unreadable';
  try {
    old = readKeyFile(await readFile(privatePath, 'utf8'), privatePath).key.fingerprint;
  } catch {
    // A damaged key is moved aside all the same: that is what rotating it is for.
  }
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, 'Z');
  const aside = `${privatePath}.${stamp}.old`;
  await rename(privatePath, aside);
  if (existsSync(publicPath)) await rename(publicPath, `${aside}.pub`);
  return { fingerprint: old, path: aside };
}

/** Lists this node's key when its configured signing key is an admin's; else says what an admin runs. */
async function listSelf(ctx: BusContext, key: SshPublicKey, now: Date): Promise<OwnListing> {
  const node = ctx.config.node;
  const report = await loadTrust(await currentSnapshot(ctx), ctx.paths.home, ctx.config.trust ?? {}, now);
  if (!report.pin) return { status: 'no-trust', why: report.present ? 'this node has not pinned the bus\'s trust root ("gitbus trust pin")' : 'the bus has no trust root' };
  const v = report.accepted;
  if (!v) return { status: 'no-trust', why: 'this node accepts no version of the trust root ("gitbus trust list" says why)' };
  const standing = ownKeyStanding(v, node, key);
  if (standing.state === 'listed') return { status: 'listed', version: v.version };
  const awaiting = (why: string): OwnListing => ({ status: 'awaiting-admin', version: v.version, why, command: addNodeCommand(node, key.fingerprint), unlistedNodes: unlistedNodesOf(v), replaces: standing.state === 'differs' ? standing.listed : [] });
  let signing: SigningKey;
  try {
    signing = await resolveSigningKey({ home: ctx.paths.home, keyFlag: false });
  } catch (err) {
    if (err instanceof GitbusError) return awaiting(err.code === 'SIGNING_KEY_MISSING' ? 'no signing key is configured here (signingKey in node.yaml, or git\'s user.signingkey)' : `the signing key configured here cannot be used (${firstLine(err)})`);
    throw err;
  }
  if (adminPrincipalsOf(v, signing.parsed.key, { node: ctx.config.trust ?? {}, now }).length === 0) return awaiting(`this node's signing key ${signing.parsed.key.fingerprint} (${signing.source}) is not an admin key of trust version ${v.version}`);
  try {
    const r = await trustChange(ctx, { kind: 'add-node', node, key }, { key: signing, now });
    return r.status === 'accepted' ? { status: 'written', version: r.version, digest: r.digest } : { status: 'proposed', version: r.version, digest: r.digest, needed: r.needed, waitingFor: r.waitingFor };
  } catch (err) {
    // The node joined or pinned all the same; what is left is an admin's to do.
    if (err instanceof GitbusError) return awaiting(`listing it with ${signing.source} failed: ${firstLine(err)}`);
    throw err;
  }
}

/**
 * This node's own key after join or pin, or asked for with `gitbus trust node-key`: made if missing (`rotate`: a
 * new one, the old moved aside), offered on the card, and listed when the node's configured key may.
 */
export async function ownNodeKey(ctx: BusContext, opts: { rotate?: boolean; now?: Date } = {}): Promise<OwnNodeKeyResult> {
  const now = opts.now ?? new Date();
  refuseIfLeft(ctx.paths.home, ctx.config.node, ctx.config.remote);
  const previous = opts.rotate ? await moveKeyAside(ctx.paths.home, now) : null;
  const k = await ensureNodeKey(ctx.paths.home, ctx.config.node);
  await publishNodeCard(ctx, now);
  return { node: ctx.config.node, fingerprint: k.key.fingerprint, key: k.key.line, created: k.created, previous, listing: await listSelf(ctx, k.key, now) };
}

/** A node card's key shown to the admin asked whether it is the node's. */
export interface NodeKeyOffer {
  node: string;
  fingerprint: string;
  keyType: string;
  /** The keys the accepted version lists for the node now: listing this one replaces them (a rotation). */
  listed: string[];
}

export interface AddNodeOptions {
  node: string;
  /** The key, given by the admin (a file or a line they checked); absent: read from the node's card. */
  key?: SshPublicKey;
  /** The fingerprint the admin checked with the node: the key must have it. */
  fingerprint?: string;
  /** Asks the admin at the terminal (for a key from the card only); absent when there is none. */
  confirm?: (offer: NodeKeyOffer) => Promise<boolean>;
  signingKey: SigningKey;
  replace?: boolean;
  now?: Date;
}

export interface AddNodeResult extends TrustWriteResult {
  node: string;
  fingerprint: string;
  from: 'card' | 'key';
  /** Keys of the node the new version no longer lists. */
  replaced: string[];
}

/** The key `node`'s card offers; NodeKeyNotOfferedError when there is none that can be used. */
async function cardKey(snap: Snapshot, node: string): Promise<SshPublicKey> {
  const view = (await snap.nodes()).find((n) => n.node === node);
  if (!view) throw new NodeKeyNotOfferedError(node, 'it has no card on the bus (it has not joined)');
  if (!view.card) throw new NodeKeyNotOfferedError(node, `its card is not valid (${view.problems[0]?.reason ?? 'it does not parse'})`);
  if (view.card.key === undefined) throw new NodeKeyNotOfferedError(node, 'its card offers no key (it joined before the bus had a trust root, or runs an older gitbus)');
  const key = offeredKey(view.card.key);
  if (!key) throw new NodeKeyNotOfferedError(node, 'the key on its card cannot be used');
  return key;
}

/**
 * `gitbus trust add node NAME`: the next version lists `node`'s key, replacing the one it had (rotation). A key
 * read from the card is untrusted (anyone with push access writes cards): it is listed only when `fingerprint`
 * names it or a person says yes at the terminal.
 */
export async function addNodeKey(ctx: BusContext, opts: AddNodeOptions): Promise<AddNodeResult> {
  const now = opts.now ?? new Date();
  const snap = await currentSnapshot(ctx);
  const report = await loadTrust(snap, ctx.paths.home, ctx.config.trust ?? {}, now);
  if (!report.present) throw new NoTrustRootError();
  if (!report.pin || !report.accepted) throw new TrustNotPinnedError();
  const listed = nodeKeysIn(report.accepted, opts.node).map((k) => k.fingerprint);
  let key: SshPublicKey;
  if (opts.key) {
    key = opts.key;
    if (opts.fingerprint !== undefined && opts.fingerprint !== key.fingerprint) throw new NodeKeyMismatchError(opts.node, key.fingerprint, opts.fingerprint, 'key');
  } else {
    key = await cardKey(snap, opts.node);
    if (opts.fingerprint !== undefined) {
      if (opts.fingerprint !== key.fingerprint) throw new NodeKeyMismatchError(opts.node, key.fingerprint, opts.fingerprint, 'card');
    } else if (!listed.includes(key.fingerprint)) {
      const offer: NodeKeyOffer = { node: opts.node, fingerprint: key.fingerprint, keyType: key.type, listed };
      if (!opts.confirm) throw new NodeKeyUnconfirmedError(opts.node, key.fingerprint, key.type);
      if (!(await opts.confirm(offer))) throw new NodeKeyDeclinedError(opts.node, key.fingerprint);
    }
  }
  const r = await trustChange(ctx, { kind: 'add-node', node: opts.node, key }, { key: opts.signingKey, now, ...(opts.replace ? { replace: true } : {}) });
  return { ...r, node: opts.node, fingerprint: key.fingerprint, from: opts.key ? 'key' : 'card', replaced: listed.filter((f) => f !== key.fingerprint) };
}
