import { existsSync } from 'node:fs';
import { ObjectTooLargeError } from '../local-io.js';
import type { FileProblem } from '../../schemas/errors.js';
import type { Handoff } from '../../schemas/handoff.js';
import { isFinal } from '../model/types.js';
import type { NodeConfig } from '../home.js';
import type { NodeView, Snapshot } from '../model/snapshot.js';
import type { PolicyVerdict } from '../model/node-policy.js';
import { policyJudge, type PolicyJudge } from '../node-policy.js';
import { readSidecars, readSidecarsOf, type Sidecar } from './file-signatures.js';
import { boundedByAge } from './handoff-age.js';
import { handoffTrust, type EnforcedTrust, type HandoffTrust, type TrustTarget } from './handoff-trust.js';
import { pinPath } from './pin.js';
import { loadTrust } from './root.js';
import { scheduledInstanceTrust, type TemplateFacts } from './schedule-trust.js';
import { templateOfFrom } from '../model/schedule.js';
import { signedMessage } from './messages.js';
import { checkSshsig } from './sshsig.js';
import { principalsOf } from './policy-rules.js';

/**
 * Enforcement of signed handoffs (docs/PROTOCOL.md §12), thin I/O around handoff-trust.ts: which trust state this
 * node enforces, and the verdict on each task of a snapshot. Only a node that pinned a trust root enforces; a bus
 * without one, or a node that never pinned it, behaves as before.
 */

/** The trust this node enforces on `snap`, or null: no pin, or nothing accepted. Moves the pin forward (loadTrust). */
export async function enforcedTrust(snap: Snapshot, home: string, config: Pick<NodeConfig, 'trust'>): Promise<EnforcedTrust | null> {
  // Once per snapshot and home: reading the chain checks every admin signature of it, and a snapshot is asked by
  // its reader (node-files.ts) and again by what decides from it (claim, status, lint).
  const known = judged.get(snap);
  if (known && known.home === home) return known.trust;
  const trust = await judge(snap, home, config);
  judged.set(snap, { home, trust });
  return trust;
}

/** Whether this node pinned a bus's trust root: only then may it enforce trust (enforcedTrust is null otherwise). */
export function pinsTrust(home: string): boolean {
  return existsSync(pinPath(home));
}

const judged = new WeakMap<Snapshot, { home: string; trust: EnforcedTrust | null }>();

async function judge(snap: Snapshot, home: string, config: Pick<NodeConfig, 'trust'>): Promise<EnforcedTrust | null> {
  // Most nodes never pin: every snapshot of theirs would read the chain for nothing.
  if (!pinsTrust(home)) return null;
  const node = config.trust ?? {};
  const report = await loadTrust(snap, home, node);
  if (!report.pin || !report.accepted) return null;
  return { accepted: report.accepted, node };
}

/**
 * The trust verdict on each of `ids` (tasks whose handoff is on `snap`), for this node as the target. An unsigned
 * instance of a schedule (`from: schedule:<template>`) is judged by its template (schedule-trust.ts). Each is then
 * bounded by the version's maxHandoffAge at `now` (handoff-age.ts): templates not, instances by their due time.
 */
export async function handoffVerdicts(snap: Snapshot, trust: EnforcedTrust, ids: Iterable<string>, target: TrustTarget, now = new Date()): Promise<Map<string, HandoffTrust>> {
  const out = new Map<string, HandoffTrust>();
  const rootTree = snap.commit ? await snap.store.readCommitTree(snap.commit) : null;
  if (!rootTree) return out;
  const own = async (id: string): Promise<{ path: string; bytes: Uint8Array; sidecars: Sidecar[]; handoff: Handoff | undefined; verdict: () => HandoffTrust } | null> => {
    const ref = snap.index.tasks.get(id)?.handoff;
    if (!ref) return null;
    const view = await snap.view(id);
    const bytes = await handoffBytes(snap, ref.oid);
    if (!bytes) return null; // over the object cap: no verdict, so untrusted (its file is invalid anyway)
    const { sidecars, unread } = await readSidecarsOf(snap.store, rootTree, ref.path);
    return { path: ref.path, bytes, sidecars, handoff: view?.handoff, verdict: () => handoffTrust(ref.path, bytes, sidecars, view?.handoff, trust, target, now, unread) };
  };
  // Many instances share one template: read and judge each template once.
  const templates = new Map<string, TemplateFacts | null>();
  const templateFacts = async (templateId: string): Promise<TemplateFacts | null> => {
    if (templates.has(templateId)) return templates.get(templateId) ?? null;
    const t = snap.has(templateId) ? await own(templateId) : null;
    const view = t ? await snap.view(templateId) : undefined;
    const facts = t && view ? { id: templateId, state: view.state, handoff: view.handoff, body: view.handoffBody ?? '', verdict: t.verdict() } : null;
    templates.set(templateId, facts);
    return facts;
  };
  for (const id of ids) {
    const h = await own(id);
    if (!h) continue;
    const templateId = templateOfFrom(h.handoff?.from);
    const t = h.sidecars.length === 0 && templateId !== null && templateId !== id ? scheduledInstanceTrust({ id, path: h.path, bytes: h.bytes }, templateId, await templateFacts(templateId), now) : h.verdict();
    out.set(id, boundedByAge(t, h.path, h.handoff, trust.accepted, now));
  }
  return out;
}

/**
 * The node a handoff's trust is judged for: the node it is addressed to (`to`), by its name and the labels of its
 * card on `snap` (none without a card), else this node (`me`). A handoff addressed to another node runs there or
 * nowhere, so every command judges it by that node's rules (status, lint, show, verify): the fleet's nodes then
 * agree on it, rather than each calling it refused because the rules do not let it run on them.
 */
export async function trustTargetOf(snap: Snapshot, to: string | undefined, me: TrustTarget, cards?: readonly NodeView[]): Promise<TrustTarget> {
  if (to === undefined || to === me.name) return me;
  return { name: to, labels: (cards ?? (await snap.nodes())).find((n) => n.node === to)?.card?.labels ?? [] };
}

/** handoffVerdicts for tasks of `snap` each judged for the node it is addressed to, else this node (trustTargetOf). */
export async function addressedVerdicts(snap: Snapshot, trust: EnforcedTrust, tasks: Iterable<{ id: string; to?: string | undefined }>, me: TrustTarget, now = new Date()): Promise<Map<string, HandoffTrust>> {
  const groups = new Map<string, string[]>();
  for (const t of tasks) {
    const name = t.to ?? me.name;
    const ids = groups.get(name);
    if (ids) ids.push(t.id);
    else groups.set(name, [t.id]);
  }
  const out = new Map<string, HandoffTrust>();
  const cards = [...groups.keys()].some((name) => name !== me.name) ? await snap.nodes() : [];
  for (const [name, ids] of groups) {
    const target = await trustTargetOf(snap, name, me, cards);
    for (const [id, t] of await handoffVerdicts(snap, trust, ids, target, now)) out.set(id, t);
  }
  return out;
}

/**
 * The verdict on a signed handoff whose task is on the archive branch (`<month>/<id>/`): it already ended and left
 * main, so it does not run again, whatever its archived end's signatures say.
 */
export function replayed(id: string, month: string, state: string): HandoffTrust {
  return { trusted: false, reason: `replayed: task ${id} was found on the archive branch (${month}/${id}/): it already ended (${state}) and was archived; a signed handoff runs once`, fix: 'dispatch it again as a new task' };
}

/** The refusal a judge returns for an untrusted task: the field `trust`, so the refusal path can word it. */
export function untrustedVerdict(t: Extract<HandoffTrust, { trusted: false }>): PolicyVerdict {
  const reason = `untrusted: ${t.reason}`;
  return { ok: false, fields: ['trust'], reason, fix: t.fix, each: [{ field: 'trust', reason, fix: t.fix }], ...(t.leaveAlone ? { leaveAlone: true as const } : {}) };
}

/**
 * This node's judge of a task: the trust verdict first (when it enforces trust), then its node.yaml policy, whose
 * `signers` see the verified signer. A task with no verdict (none was computed) is untrusted.
 */
export function trustedJudge(home: string, config: NodeConfig, verdicts: ReadonlyMap<string, HandoffTrust> | null): PolicyJudge | undefined {
  if (!verdicts) return policyJudge(home, config);
  const signerOf = (_h: Handoff, id: string) => {
    const t = verdicts.get(id);
    return t?.trusted ? t.signer : null;
  };
  const policy = policyJudge(home, config, signerOf);
  return (h, id) => {
    const t = verdicts.get(id) ?? { trusted: false as const, reason: 'its signature was not checked', fix: 'try again' };
    if (!t.trusted) return untrustedVerdict(t);
    return policy ? policy(h, id) : { ok: true, caps: {} };
  };
}

/**
 * `gitbus lint` on a bus this node enforces trust on: each live task whose handoff it would refuse, or the node it
 * is addressed to would (trustTargetOf), with the reason (a warning: during a migration unsigned tasks are
 * expected, and the bus itself is well-formed).
 */
export async function untrustedProblems(snap: Snapshot, home: string, config: NodeConfig): Promise<FileProblem[]> {
  const trust = await enforcedTrust(snap, home, config);
  if (!trust) return [];
  const live: { id: string; to?: string | undefined }[] = [];
  for (const id of snap.ids()) {
    const v = await snap.view(id);
    if (v && !isFinal(v.state)) live.push({ id, to: v.handoff?.to });
  }
  const verdicts = await addressedVerdicts(snap, trust, live, { name: config.node, labels: config.labels });
  const out: FileProblem[] = [];
  for (const { id, to } of live) {
    const t = verdicts.get(id);
    if (!t || t.trusted) continue;
    const path = snap.index.tasks.get(id)?.handoff?.path ?? id;
    const where = to !== undefined && to !== config.node ? `for node ${to}, to which it is addressed (judged on node ${config.node}, trust version ${trust.accepted.version})` : `on node ${config.node} (trust version ${trust.accepted.version})`;
    out.push({ path, field: '', reason: `untrusted ${where}: ${t.reason}`, fix: t.fix, severity: 'warning' });
  }
  return out;
}

/**
 * Whether the handoff of `id` carries a signature by a key the accepted version lists as a signer of handoffs (for
 * some node: the rules are each target's business). A watcher that enforces trust makes instances only of such
 * schedule templates, so an unsigned template cannot make the fleet write an instance (and a refusal) every tick.
 */
export async function signedByListedSigner(snap: Snapshot, trust: EnforcedTrust, id: string, now = new Date()): Promise<boolean> {
  const ref = snap.index.tasks.get(id)?.handoff;
  if (!ref || !snap.commit) return false;
  const sidecar = (await readSidecars(snap.store, await snap.store.readCommitTree(snap.commit), ref.path))[0];
  if (!sidecar) return false;
  const bytes = await handoffBytes(snap, ref.oid);
  if (!bytes) return false;
  const m = signedMessage(ref.path, bytes);
  const check = checkSshsig(sidecar.content, m.message, m.namespace);
  return check.ok && principalsOf(trust.accepted, check.signer, m.namespace, trust.node, now).length > 0;
}

/** A handoff's bytes, or null for one over the object cap (bus/store/loose-read.ts): judged as no verdict at all. */
async function handoffBytes(snap: Snapshot, oid: string): Promise<Uint8Array | null> {
  try {
    return await snap.store.readBlob(oid);
  } catch (err) {
    if (err instanceof ObjectTooLargeError) return null;
    throw err;
  }
}
