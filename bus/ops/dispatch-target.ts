import { effectiveRunner, type Handoff } from '../../schemas/handoff.js';
import type { BusContext } from '../context.js';
import { NodeCannotRunError, UnknownNodeError, type DispatchedBy } from '../errors.js';
import type { Snapshot } from '../model/snapshot.js';
import { currentSnapshot, localSnapshot } from './query.js';
import { nodePolicyVerdict, type PolicyTask } from '../model/node-policy.js';
import { policyOfCard } from '../node-policy.js';

/** What of a task decides whether a node's card says it can run it. */
export type TargetTask = Pick<Handoff, 'runner' | 'command' | 'labels'> & PolicyTask;

/** Why `snap`'s node `to` could never claim `h`, as an error; null when it can (or its card cannot tell). Pure. */
export async function targetProblem(snap: Snapshot, to: string, h: TargetTask, by: DispatchedBy = 'dispatch'): Promise<UnknownNodeError | NodeCannotRunError | null> {
  const nodes = await snap.nodes();
  const node = nodes.find((n) => n.node === to);
  if (!node) return new UnknownNodeError(to, nodes.map((n) => n.node), by);
  // An unreadable card says nothing about the node; lint reports it, and the task may well run.
  const card = node.card;
  if (!card) return null;
  const reasons: string[] = [];
  const fixes: string[] = [];
  const runner = effectiveRunner(h);
  if (card.runners && !card.runners.includes(runner)) {
    reasons.push(`it does not offer the ${runner} runner (its runners: ${card.runners.join(', ') || 'none'})`);
    // Enabled in node.yaml but left off the card because its program is missing there is as likely as not enabled.
    fixes.push(`enable it on ${to} (runners: [${runner}] in its node.yaml, then restart its watcher), or, if it is enabled there, install its program ("gitbus doctor" on ${to} says what is missing)`);
  }
  const missing = (h.labels ?? []).filter((l) => !(card.labels ?? []).includes(l));
  if (missing.length > 0) {
    reasons.push(`it lacks the label(s) ${missing.join(', ')}`);
    fixes.push(`drop those labels, or add them to ${to} (labels in its node.yaml)`);
  }
  const waits = reasons.length > 0;
  // The policy its card publishes (not its command patterns, nor what only the node knows: its roots, signers).
  if (card.policy && runner !== 'manual') {
    const v = nodePolicyVerdict(policyOfCard(card.policy), h, { node: to });
    if (!v.ok) {
      reasons.push(`its policy refuses it (${v.reason})`);
      fixes.push(v.fix);
    }
  }
  return reasons.length ? new NodeCannotRunError(to, reasons, fixes.join('; '), !waits, by) : null;
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
