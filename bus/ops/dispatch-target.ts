import { type Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import type { BusContext } from '../context.js';
import { NodeCannotRunError, UnknownNodeError, type DispatchedBy } from '../errors.js';
import type { Snapshot } from '../model/snapshot.js';
import { currentSnapshot, localSnapshot } from './query.js';
import { cardRefusal, type PolicyTask } from '../model/node-policy.js';
import type { ForgedFile } from '../model/types.js';
import { listFolder } from '../store/objects.js';
import { notAFile } from '../trust/file-signatures.js';
import { addNodeCommand, offeredKey } from '../trust/node-key-status.js';

/** What of a task decides whether a node's card says it can run it. */
export type TargetTask = Pick<Handoff, 'runner' | 'command' | 'labels'> & PolicyTask;

/**
 * What of a task a node's card refuses, each with its reason and fix: the node itself (`to`: its runners, its
 * policy), the labels it lacks (`labels`), or the project (`repo`: its policy.repos, its projectsOnly). A batch blames each on what
 * gave that value, a line or a flag (bus/ops/dispatch-batch.ts).
 */
export type TargetCause = 'to' | 'labels' | 'repo';
export interface TargetRefusal {
  cause: TargetCause;
  reason: string;
  fix: string;
  /** From the node's policy: a forced task is answered `failed` rather than left waiting. */
  policy: boolean;
}

/** Why `snap`'s node `to` could never claim `h`: the node is unknown, or what its card refuses (none: it can, or its card cannot tell). Pure. */
export async function targetRefusals(snap: Snapshot, to: string, h: TargetTask, by: DispatchedBy = 'dispatch'): Promise<UnknownNodeError | TargetRefusal[]> {
  const nodes = await snap.nodes();
  const node = nodes.find((n) => n.node === to);
  if (!node) {
    // A card this node's trust took out as forged (bus/trust/node-files.ts): the node is there, its card not trusted.
    const forged = snap.forged.find((f) => f.kind === 'node' && f.node === to);
    return forged ? [await untrustedCard(snap, to, forged)] : new UnknownNodeError(to, nodes.map((n) => n.node), by);
  }
  // An unreadable card says nothing about the node; lint reports it, and the task may well run.
  const card = node.card;
  if (!card) return [];
  const out: TargetRefusal[] = [];
  const runner = effectiveRunner(h);
  if (card.runners && !card.runners.includes(runner)) {
    // Enabled in node.yaml but left off the card because its program is missing there is as likely as not enabled.
    out.push({ cause: 'to', reason: `it does not offer the ${runner} runner (its runners: ${card.runners.join(', ') || 'none'})`, fix: `enable it on ${to} (runners: [${runner}] in its node.yaml, then restart its watcher), or, if it is enabled there, install its program ("gitbus doctor" on ${to} says what is missing)`, policy: false });
  }
  const missing = (h.labels ?? []).filter((l) => !(card.labels ?? []).includes(l));
  if (missing.length > 0) out.push({ cause: 'labels', reason: `it lacks the label(s) ${missing.join(', ')}`, fix: `drop those labels, or add them to ${to} (labels in its node.yaml)`, policy: false });
  // The policy its card publishes (not its command patterns, nor what only the node knows: its roots, signers).
  const refused = cardRefusal(card, h, to);
  if (refused) for (const r of refused.each) out.push({ cause: r.field === 'policy.repos' || r.field === 'projectsOnly' ? 'repo' : 'to', reason: r.reason, fix: r.fix, policy: true });
  return out;
}

/**
 * A node whose card this node's trust ignores as forged: it claims nothing that counts here until an admin lists
 * the key it signs with (most often it rotated its key, `gitbus trust node-key --rotate`, and nobody listed the new
 * one yet; docs/PROTOCOL.md §12, "Node keys"). The fix names the key its card offers, to be checked with the node:
 * the card is what someone with push access could have written.
 */
async function untrustedCard(snap: Snapshot, to: string, forged: ForgedFile): Promise<TargetRefusal> {
  const entry = snap.commit ? (await listFolder(snap.store, await snap.store.readCommitTree(snap.commit), 'nodes')).find((e) => e.path === `${to}.md` && notAFile(e) === null) : undefined;
  const card = entry ? await snap.parse<{ key?: unknown }>({ path: forged.path, oid: entry.oid }) : null;
  const offered = card?.ok && typeof card.data.key === 'string' ? offeredKey(card.data.key) : undefined;
  const list = offered
    ? `an admin checks the fingerprint with node ${to} ("gitbus trust node-key" there prints it) and lists its key: ${addNodeCommand(to, offered.fingerprint)}`
    : `an admin lists the key node ${to} signs with ("gitbus trust node-key" on ${to} prints it): gitbus trust add node ${to} --fingerprint SHA256:...`;
  return { cause: 'to', reason: `its card (${forged.path}) is not trusted on this node, so neither is anything it writes: ${forged.reason}`, fix: list, policy: false };
}

/** Refusals (of targetRefusals) as the error a dispatch reports; null when there are none. Pure. */
export function cannotRunError(to: string, refusals: readonly TargetRefusal[], by: DispatchedBy = 'dispatch'): NodeCannotRunError | null {
  if (refusals.length === 0) return null;
  const own = refusals.filter((r) => !r.policy);
  const policy = refusals.filter((r) => r.policy);
  const reasons = own.map((r) => r.reason);
  const fixes = own.map((r) => r.fix);
  if (policy.length > 0) {
    reasons.push(`its policy refuses it (${policy.map((r) => r.reason).join('; ')})`);
    fixes.push([...new Set(policy.map((r) => r.fix))].join('; '));
  }
  return new NodeCannotRunError(to, reasons, fixes.join('; '), own.length === 0, by);
}

/** Why `snap`'s node `to` could never claim `h`, as an error; null when it can (or its card cannot tell). Pure. */
export async function targetProblem(snap: Snapshot, to: string, h: TargetTask, by: DispatchedBy = 'dispatch'): Promise<UnknownNodeError | NodeCannotRunError | null> {
  const r = await targetRefusals(snap, to, h, by);
  return r instanceof UnknownNodeError ? r : cannotRunError(to, r, by);
}

/**
 * Why a task addressed to `to` could never be claimed, checked before it is dispatched (the CLI refuses it
 * unless --force); null when it can. Checked against this node's clone first (no round trip, and works
 * offline); a problem is confirmed against the remote's current main, since the node may have joined or changed
 * its card since the last sync.
 */
export async function dispatchTargetProblem(ctx: BusContext, to: string, h: TargetTask, by: DispatchedBy = 'dispatch'): Promise<UnknownNodeError | NodeCannotRunError | null> {
  if ((await targetProblem(await localSnapshot(ctx), to, h, by)) === null) return null;
  let fresh: Snapshot;
  try {
    fresh = await currentSnapshot(ctx);
  } catch {
    // Remote unreachable: judge by the clone (the fix offers --force); dispatch itself reports the remote.
    fresh = await localSnapshot(ctx);
  }
  return targetProblem(fresh, to, h, by);
}
