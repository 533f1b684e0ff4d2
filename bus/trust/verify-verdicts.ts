import { parseBusFile } from '../../schemas/bus-file.js';
import { GitbusError, firstLine } from '../../schemas/errors.js';
import { type Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import type { BusContext } from '../context.js';
import type { Snapshot } from '../model/snapshot.js';
import { archivedUnreadSidecar, findArchived } from '../ops/archive-lookup.js';
import { handoffVerdicts, replayed, trustTargetOf, trustedJudge } from './enforce.js';
import { readSidecars, type Sidecar, type UnreadSidecar } from './file-signatures.js';
import type { ArchivedTask } from '../ops/archive-lookup.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { SIGNATURE_EXT, SIGNATURES_FOLDER } from '../../schemas/signature-layout.js';
import { MAX_SIGNATURE_FILE } from './sshsig.js';
import { handoffTrust, type EnforcedTrust, type HandoffTrust, type TrustTarget } from './handoff-trust.js';
import { signedKindOf } from './messages.js';
import { nodeFileVerdict } from './node-file-trust.js';
import { markEndsRemoved } from './seen-ended.js';
import { whyClaimNothing } from './node-files.js';
import { holderText, notForThisNode } from '../model/planner.js';
import { isFinal, type TaskState } from '../model/types.js';
import type { TaskView } from '../model/task-view.js';

/**
 * What a node that enforces trust makes of each file of a task, for `gitbus verify` (and, for the handoff, `gitbus
 * show`): the same verdicts its watcher acts on (bus/ops/claim.ts, bus/trust/node-files.ts), not only whether a
 * signature verifies. A handoff signed by an allowed signer may still be refused (a rule that does not allow its
 * runner on this node, a revoked key, a replay, this node's policy), or not be this node's to run at all (ended,
 * held by another node's claim, addressed to another node, a label or runner it lacks, its own key not listed); a
 * claim with a valid signature by the wrong node's key is forged.
 */
export interface TrustVerdict {
  /**
   * The handoff: whether this node would run it (or, holding its claim, runs it); a claim, release or response:
   * whether it counts here.
   */
  trusted: boolean;
  reason: string;
  fix?: string;
  /**
   * The handoff: who signed it, when its signature verifies by a key the accepted version lists for handoffs and a
   * rule lets that signer have the node it was judged for run it (this node, or the node it is addressed to).
   */
  signer?: { principals: string[]; fingerprint: string };
  /**
   * The handoff: set when this node would not run it whatever its signature says: it ended (live or archived: no
   * node runs it again), another node's claim holds it (only its holder runs it), it is a schedule's template (it
   * never runs itself), invalid or of a newer protocol, it is addressed to another node, needs a label or runner this
   * node lacks, or this node claims nothing (its own key is not the one the version lists). `reason` says which,
   * then how the signature stands (not for an invalid handoff or one of a newer protocol, which cannot be judged).
   */
  notForThisNode?: true;
}

/** An archived task's handoff, in its folder on the archive branch. */
const ARCHIVED_HANDOFF = 'handoff.md';

/** A cancel stops work and is never verified (docs/PROTOCOL.md §12): it counts whoever wrote it. */
const CANCEL: TrustVerdict = { trusted: true, reason: 'a cancel counts whoever wrote it: it only stops work, and is not verified (docs/PROTOCOL.md §12)' };

/** `forNode`: the node the rule was found for, when not this one (the node the handoff is addressed to). */
function signedBy(t: Extract<HandoffTrust, { trusted: true }>, forNode?: string): string {
  const who = t.signer.principals.length > 0 ? `${t.signer.principals.join(', ')} (${t.signer.fingerprint})` : t.signer.fingerprint;
  return `signed by ${who}, allowed by rule ${t.rule}${forNode ? ` for node ${forNode}` : ''}${t.via ? ` (${t.via})` : ''}`;
}

const signerOf = (t: Extract<HandoffTrust, { trusted: true }>): Pick<Required<TrustVerdict>, 'signer'> => ({ signer: { principals: [...t.signer.principals], fingerprint: t.signer.fingerprint } });

function nodeOf(path: string, bytes: Uint8Array): string | null {
  const p = parseBusFile(path, bytes);
  return p.ok && typeof (p.file.data as { node?: unknown }).node === 'string' ? ((p.file.data as { node: string }).node) : null;
}

/**
 * A claim's, release's or response's standing here, from its bytes and first sidecar (`null`: not a node's file).
 * `archivedAt`: an archived file's path on the archive branch, which a fix names (`path` is its path on main).
 */
export function nodeFileStanding(path: string, bytes: Uint8Array, sidecars: readonly Sidecar[], trust: EnforcedTrust, now: Date, archivedAt?: string, unread?: UnreadSidecar): TrustVerdict | null {
  const kind = signedKindOf(path);
  if (kind === 'cancel') return CANCEL;
  if (kind !== 'claim' && kind !== 'release' && kind !== 'response') return null;
  const sidecar = sidecars[0]?.content;
  const v = nodeFileVerdict({ path, bytes, node: nodeOf(path, bytes), ...(sidecar ? { sidecar } : {}), ...(archivedAt !== undefined ? { archivedAt } : {}), ...(unread ? { unread } : {}) }, trust.accepted, trust.node, now);
  if (!v.counts) return { trusted: false, reason: v.reason, fix: v.fix };
  const name = v.node ?? 'an unnamed node';
  return { trusted: true, reason: v.signed ? `counts: signed by node ${name}'s key` : `counts: node ${name} is not listed, and trust version ${trust.accepted.version} accepts unlisted nodes (unlistedNodes: accept)` };
}

/**
 * Whether this node would run the live task `id`: first what holds of a task no node is to take (invalid, or of a
 * newer protocol: no node of this protocol runs it; it ended: no node runs it again; a claim holds it: only its holder
 * runs it; a schedule's template: only its instances run); then what rules it out for this node whatever its
 * signature, as the claim decision does (bus/ops/claim.ts: addressed to another node, a label or runner this node
 * lacks, this node claiming nothing while the version does not list its own key); then its handoff's trust verdict (signature,
 * rules, revocations), the replay checks (the archive, unless `offline`; what this node saw end, cancelled or
 * claimed) and this node's policy, as the watcher decides them when it claims. A handoff addressed to another node
 * is judged by the rules for that node (its name, and its labels from its card), so that the verdict says how its
 * signature stands where it is meant to run; this node's policy is then not asked.
 */
export async function liveHandoffVerdict(ctx: BusContext, snap: Snapshot, trust: EnforcedTrust, id: string, offline: boolean): Promise<TrustVerdict> {
  const view = await snap.view(id);
  const target = await trustTargetOf(snap, view?.handoff?.to, { name: ctx.config.node, labels: ctx.config.labels });
  const verdicts = await handoffVerdicts(snap, trust, [id], target);
  let unconsulted = offline ? 'offline' : null;
  if (!offline && verdicts.get(id)?.trusted) {
    try {
      const archived = (await findArchived(ctx, [id])).get(id);
      if (archived) verdicts.set(id, replayed(id, archived.month, archived.state));
    } catch (err) {
      // The replay check needs the remote; `show` of a live task must not fail for it (the watcher checks at claim).
      if (!(err instanceof GitbusError)) throw err;
      unconsulted = `it could not be read: ${firstLine(err)}`;
    }
  }
  await markEndsRemoved(ctx.paths.home, snap, verdicts);
  return judgedHandoffVerdict(ctx, trust, id, view, verdicts, unconsulted);
}

/**
 * liveHandoffVerdict from the trust verdicts already made on the live task `id`'s handoff (`verdicts`: handoffVerdicts
 * for the node it is addressed to, else this node, with the replay checks and markEndsRemoved applied), so that
 * `status`, which judges every task at once, says of a task what `show` says. `unconsulted`: why the archive was not
 * read for the replay check, or null when it was (or the handoff is untrusted, so there was nothing to check).
 * `claimNothing`: whyClaimNothing for this node, when the caller already asked it (it reads this node's key file).
 */
export function judgedHandoffVerdict(ctx: Pick<BusContext, 'paths' | 'config'>, trust: EnforcedTrust, id: string, view: TaskView | undefined, verdicts: Map<string, HandoffTrust>, unconsulted: string | null, claimNothing?: { reason: string; fix: string } | null): TrustVerdict {
  const handoff = view?.handoff;
  const me = { node: ctx.config.node, labels: ctx.config.labels, runners: ctx.config.runners };
  const elsewhere = handoff?.to !== undefined && handoff.to !== me.node ? handoff.to : undefined;
  const t = verdicts.get(id);
  // A handoff no node of this protocol reads runs nowhere here, whoever signed it: said rather than a parse failure.
  const unread = view ? unreadHandoff(view) : null;
  if (unread) return { trusted: false, ...unread, notForThisNode: true };
  if (!t || !handoff) return { trusted: false, reason: 'its handoff does not parse, so nothing runs it', fix: 'run "gitbus lint"' };
  const unchecked = unconsulted === null ? '' : ` (the archive was not consulted: ${unconsulted})`;
  const ended = view !== undefined && isFinal(view.state);
  // How the signature stands, after what rules the task out: still what a reader asks; of a task that ended, as history.
  const signature = t.trusted ? `${signedBy(t, elsewhere)}${unchecked}` : `${ended ? 'its handoff would not be trusted now' : 'and its handoff is untrusted'}${elsewhere ? ` for node ${elsewhere}` : ''}: ${t.reason}`;
  // A task that ended, that a claim holds, or a schedule's template is nobody's to take: what holds is said instead of whether this node would.
  const settled = view ? settledWords(view, me.node) : null;
  if (settled) {
    const verdict = `${settled.words}; ${signature}`;
    if (settled.heldHere && t.trusted) {
      // A task this node's policy refuses is claimed only to be answered failed (watcher/claimed-run.ts).
      const refused = trustedJudge(ctx.paths.home, ctx.config, verdicts)?.(handoff, id);
      if (refused && !refused.ok) return { trusted: false, reason: `${settled.words}, to answer it failed: this node's policy refuses it: ${refused.reason}; ${signature}`, fix: refused.fix, ...signerOf(t) };
      return { trusted: true, reason: verdict, ...signerOf(t) };
    }
    if (settled.heldHere) return { trusted: false, reason: verdict, ...(t.trusted ? {} : { fix: t.fix }) };
    return { trusted: false, reason: verdict, notForThisNode: true, ...(t.trusted ? signerOf(t) : endedFix(t, ended)) };
  }
  // A manual task is taken by a person or an agent (`gitbus claim`, MCP claim_next), whatever runners the watcher has.
  const who = effectiveRunner(handoff) === 'manual' ? { ...me, runners: undefined } : me;
  const skip = notForThisNode(handoff, who) ?? (claimNothing !== undefined ? claimNothing : whyClaimNothing(ctx.paths.home, me.node, trust.accepted));
  if (skip) {
    // Said first, as the claim decision rules it out first.
    return { trusted: false, reason: `this node would not run it: ${skip.reason}; ${signature}`, fix: t.trusted || !t.fix ? skip.fix : `${skip.fix}; for its signature: ${t.fix}`, notForThisNode: true, ...(t.trusted ? signerOf(t) : {}) };
  }
  if (!t.trusted) return { trusted: false, reason: t.reason, fix: t.fix };
  const policy = trustedJudge(ctx.paths.home, ctx.config, verdicts)?.(handoff, id);
  if (policy && !policy.ok) return { trusted: false, reason: `${signedBy(t)}, but this node's policy refuses it: ${policy.reason}`, fix: policy.fix, ...signerOf(t) };
  return { trusted: true, reason: `this node would run it: ${signedBy(t)}${unchecked}`, ...signerOf(t) };
}

/**
 * The fix of an untrusted handoff of a task that no node is to take. Of one that ended, signing it or dispatching it
 * again is moot (it ran, or was never meant to be signed: it may predate the trust root), so only a repair of the bus
 * stands (something pushed where its signature goes); of one that has not ended, the fix as it is.
 */
function endedFix(t: Extract<HandoffTrust, { trusted: false }>, ended: boolean): { fix?: string } {
  return !ended || t.tampered ? { fix: t.fix } : {};
}

/**
 * Why no node of this gitbus's protocol runs a live task whose handoff it cannot take (invalid: it breaks the schema;
 * unsupported: written for a newer protocol), said in place of whether this node would run it: its signature is not
 * judged, as the rules need the fields it cannot read. Null for any other state.
 */
function unreadHandoff(view: Pick<TaskView, 'id' | 'state' | 'problems' | 'protocol' | 'handoff'>): { reason: string; fix: string } | null {
  if (view.state === 'invalid') {
    const p = view.problems.find((x) => x.severity === 'error') ?? view.problems[0];
    const first = p ? ` (${p.path}${p.field ? ` (${p.field})` : ''}: ${p.reason}${view.problems.length > 1 ? `; and ${view.problems.length - 1} more` : ''})` : '';
    return { reason: `it is invalid: no node runs it until the problems of its handoff are fixed${first}`, fix: `fix its handoff as "gitbus lint" says, or cancel it ("gitbus cancel ${view.id}")` };
  }
  if (view.state === 'unsupported') {
    const protocol = view.protocol ?? view.handoff?.protocol;
    return { reason: `it needs protocol ${protocol ?? '?'}, newer than this gitbus: this node does not run it, a node whose gitbus reads that protocol may`, fix: 'upgrade gitbus on this node to run it here' };
  }
  return null;
}

/**
 * What holds of a live task that no node is to take, said in place of whether this node would run it: it ended (it
 * does not run again), a claim holds it (only its holder runs it), or it is a schedule's template (its instances
 * run, each judged when a watcher makes it: bus/trust/schedule-trust.ts). `heldHere`: this node is the holder. Null
 * for a task a node may still take (pending, blocked), and for invalid and unsupported ones (unreadHandoff).
 */
function settledWords(view: Pick<TaskView, 'id' | 'state' | 'claim' | 'files'>, me: string): { words: string; heldHere: boolean } | null {
  if (isFinal(view.state)) return { words: `it ended (${view.state}): no node runs it again`, heldHere: false };
  if (view.state === 'scheduled') return { words: 'it is a schedule\'s template: it never runs itself; each instance is judged when it is made', heldHere: false };
  if (view.state !== 'claimed' && view.state !== 'cancelling') return null;
  const attempt = view.claim?.attempt ?? '?';
  const holder = view.claim?.node;
  const stopping = view.state === 'cancelling' ? `, cancelled and to be stopped ${holder === me ? 'here' : 'there'}` : '';
  if (holder === me) return { words: `this node holds it (attempt ${attempt})${stopping}: only its holder runs it`, heldHere: true };
  // Whether the holder went silent is each observer's own reading of the heartbeats (status shows it): said, not judged.
  if (holder) return { words: `it is held by node ${holder} (attempt ${attempt})${stopping}: only its holder runs it, unless ${holder} goes silent past the lease and another node takes it over`, heldHere: false };
  // A claim that names no node this gitbus can read holds it all the same (bus/model/planner.ts holderText).
  return { words: `it is ${holderText(view)}: no node takes it while that claim holds it`, heldHere: false };
}

/**
 * An archived task's handoff (`state`: how it ended, as the archive says): no node runs it again (a signed handoff
 * runs once; one pushed back into main is refused as replayed), said first; then how its signature stands, judged as
 * a live task's is, for the node it is addressed to, else this node (`me`).
 */
export async function archivedHandoffVerdict(path: string, bytes: Uint8Array, sidecars: readonly Sidecar[], snap: Snapshot, me: TrustTarget, trust: EnforcedTrust, state: TaskState, now: Date, unread: readonly UnreadSidecar[] = []): Promise<TrustVerdict> {
  const p = parseBusFile(path, bytes);
  const handoff = p.ok ? (p.file.data as Handoff) : undefined;
  const target = await trustTargetOf(snap, handoff?.to, me);
  const elsewhere = target.name !== me.name ? target.name : undefined;
  const t = handoffTrust(path, bytes, sidecars, handoff, trust, target, now, unread);
  const ended = state === 'invalid' ? 'it was archived, with no end that reads (invalid)' : `it ended (${state}) and was archived`;
  const once = `${ended}: no node runs it again (a signed handoff runs once, and one pushed back into main is refused as replayed)`;
  if (t.trusted) return { trusted: false, reason: `${once}; ${signedBy(t, elsewhere)}`, notForThisNode: true, ...signerOf(t) };
  return { trusted: false, reason: `${once}; its handoff would not be trusted now${elsewhere ? ` for node ${elsewhere}` : ''}: ${t.reason}`, notForThisNode: true, ...endedFix(t, true) };
}

/**
 * The verdict on the handoff of the archived task `id` (`entry`: its folder on the archive branch), as `gitbus verify`
 * gives it: its sidecar from the archive, or from main for a task archived before sidecars moved with their files.
 * Null when the folder has no handoff, or one over the bus file limit (not a bus file, whoever signed it).
 */
export async function archivedTaskHandoffVerdict(ctx: Pick<BusContext, 'config'>, snap: Snapshot, trust: EnforcedTrust, id: string, entry: Pick<ArchivedTask, 'month' | 'state' | 'files' | 'signatures' | 'unreadSignatures'>, now: Date): Promise<TrustVerdict | null> {
  const oid = entry.files.get(ARCHIVED_HANDOFF);
  if (oid === undefined) return null;
  const bytes = await snap.store.readBlobUpTo(oid, MAX_FILE_BYTES);
  if (typeof bytes === 'number') return null;
  const path = `handoffs/${id}.md`;
  const sig = entry.signatures.get(`${ARCHIVED_HANDOFF}${SIGNATURE_EXT}`);
  // Something in the archive that holds the sidecar's name is what is there: main is not read in its place.
  const unread = sig === undefined ? archivedUnreadSidecar(entry, id, ARCHIVED_HANDOFF) : undefined;
  if (unread) return archivedHandoffVerdict(path, bytes, [], snap, { name: ctx.config.node, labels: ctx.config.labels }, trust, entry.state, now, [unread]);
  const sidecars = sig !== undefined ? [{ path: `${SIGNATURES_FOLDER}/${entry.month}/${id}/${ARCHIVED_HANDOFF}${SIGNATURE_EXT}`, content: await snap.store.readBlob(sig, MAX_SIGNATURE_FILE) }] : snap.commit ? await readSidecars(snap.store, await snap.store.readCommitTree(snap.commit), path) : [];
  return archivedHandoffVerdict(path, bytes, sidecars, snap, { name: ctx.config.node, labels: ctx.config.labels }, trust, entry.state, now);
}
