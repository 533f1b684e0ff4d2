import type { FileProblem } from '../../schemas/errors.js';
import { nodeOfPrincipal, type TrustRule, type TrustSettings } from '../../schemas/trust-root.js';
import type { BusContext } from '../context.js';
import { Snapshot } from '../model/snapshot.js';
import { MAIN } from '../repo.js';
import type { Step } from './chain.js';
import { choosePin, type TrustChoice } from './pin-choice.js';
import { loadPin, savePin, type TrustPin } from './pin.js';
import { recordOwnFiles } from './sign-own-files.js';
import { listedNodes, nodeKeysView, type NodeKeysView } from './node-key-status.js';
import { unlistedNodesOf } from './node-keys.js';
import { loadTrust } from './root.js';
import { trustNotEnforced, type TrustNotEnforced } from './enforcing-nodes.js';
import { NoTrustRootError, TrustPinMismatchError } from './root-errors.js';
import { adminKeysOf, type AdminKey, type TrustVersion } from './version-content.js';

/** `gitbus trust list` and `gitbus trust pin`: the trust root as this node sees it, and pinning it. */

export interface TrustVersionView {
  version: number;
  digest: string;
  admins: string[];
  adminKeys: AdminKey[];
  threshold: number;
  /** People's keys (a node's key is in `nodeKeys`). */
  /** `validAfter`/`validBefore`: the line's bounds (ISO 8601, null: none), read on each verifier's clock. */
  signers: { principals: string[]; fingerprint: string; keyType: string; namespaces: string | null; validAfter: string | null; validBefore: string | null }[];
  /** Nodes' own keys (`node:<name>` lines, docs/PROTOCOL.md §12 "Node keys"). */
  nodeKeys: { node: string; fingerprint: string; keyType: string }[];
  unlistedNodes: 'accept' | 'refuse';
  rules: TrustRule[];
  /** The bus settings the version fixes over gitbus.yaml (null: none, gitbus.yaml decides them). */
  settings: TrustSettings | null;
  /** How old a signed handoff may be when a node claims it (null: no bound; docs/PROTOCOL.md §12, "Replay"). */
  maxHandoffAge: string | null;
}

export interface TrustListView {
  /** Whether the bus has a trust root. */
  present: boolean;
  newest: number;
  /** The version this node acts on (null: none). */
  accepted: TrustVersionView | null;
  /** The version after it, when there is one: a proposal waiting for signatures, or a refused version with the reason. */
  next: Extract<Step, { status: 'pending' | 'refused' }> | null;
  /** What that version would be, when admins may still sign it: read it before signing. */
  proposed: TrustVersionView | null;
  /** What this node pinned. */
  pin: { version: number; digest: string; admins: AdminKey[]; how: TrustPin['pinned']['how']; at: string; accepted: number } | null;
  behind: { bus: number; accepted: number } | null;
  /** Whether the bus still has the version this node pinned, as pinned (null: no pin, or it is gone). */
  pinMatches: boolean | null;
  copies: 'match' | 'differ' | 'missing' | 'none';
  problems: FileProblem[];
  /** Node keys in the accepted version, cards offering keys not listed yet, and unlistedNodes (null: no version). */
  nodes: NodeKeysView | null;
  /** The nodes on the bus that do not enforce the root, with the fix (null: the bus has no root, or every node does). */
  notEnforced: TrustNotEnforced | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function versionView(v: TrustVersion): TrustVersionView {
  return {
    version: v.version,
    digest: v.digest,
    admins: v.policy.admins,
    adminKeys: adminKeysOf(v),
    threshold: v.policy.threshold ?? 1,
    signers: v.signers.entries.filter((e) => !e.principals.every((p) => nodeOfPrincipal(p) !== undefined)).map((e) => ({ principals: e.principals, fingerprint: e.key.fingerprint, keyType: e.key.type, namespaces: e.namespaces, validAfter: iso(e.validAfter), validBefore: iso(e.validBefore) })),
    nodeKeys: listedNodes(v),
    unlistedNodes: unlistedNodesOf(v),
    rules: v.policy.rules ?? [],
    settings: v.policy.settings ?? null,
    maxHandoffAge: v.policy.maxHandoffAge ?? null,
  };
}

async function snapshotOf(ctx: BusContext): Promise<Snapshot> {
  return Snapshot.read(ctx.repo.store, await ctx.repo.sync(MAIN));
}

export async function trustList(ctx: BusContext, now = new Date()): Promise<TrustListView> {
  const snap = await snapshotOf(ctx);
  const report = await loadTrust(snap, ctx.paths.home, ctx.config.trust ?? {}, now);
  const views = report.present ? await snap.nodes() : [];
  const cards = report.accepted ? views.map((n) => ({ node: n.node, key: n.card?.key })) : [];
  const loose = report.present ? await trustNotEnforced(snap, ctx.paths.home, ctx.config.trust ?? {}, views, ctx.config.node, now) : null;
  const pin = report.pin;
  return {
    present: report.present,
    newest: report.newest,
    accepted: report.accepted ? versionView(report.accepted) : null,
    next: report.stop ?? null,
    proposed: report.proposed ? versionView(report.proposed) : null,
    pin: pin ? { version: pin.pinned.version, digest: pin.pinned.digest, admins: pin.pinned.admins, how: pin.pinned.how, at: pin.pinned.at, accepted: pin.accepted.version } : null,
    behind: report.behind ?? null,
    pinMatches: report.pinMatches,
    copies: report.copies,
    problems: report.problems,
    nodes: report.accepted ? nodeKeysView(report.accepted, cards) : null,
    notEnforced: loose && loose.nodes.length > 0 ? loose : null,
  };
}

/**
 * Pins the bus's trust root on a node that has none pinned (it joined before the root existed). A node that has
 * a pin keeps it: moving it is a person's deliberate act (remove trust-pin.json first), never a command's side effect.
 */
export async function pinTrust(ctx: BusContext, choice: TrustChoice, now = new Date()): Promise<TrustPin> {
  const existing = loadPin(ctx.paths.home);
  if (existing) throw new TrustPinMismatchError(`this node already pinned trust version ${existing.pinned.version} (${existing.pinned.digest}) and accepts version ${existing.accepted.version}`, `nothing to do; to pin again from scratch, move ${ctx.paths.home}/trust-pin.json aside first`, { pinned: existing.pinned });
  const snap = await snapshotOf(ctx);
  const pin = await choosePin(snap, choice, now);
  if (!pin) throw new NoTrustRootError();
  // Before the pin exists (a running watcher signs at the next wake after it appears): the files in this node's
  // name now are the only ones it will ever sign without having signed them when it wrote them.
  await recordOwnFiles(ctx, snap.commit, now);
  savePin(ctx.paths.home, pin);
  return pin;
}
