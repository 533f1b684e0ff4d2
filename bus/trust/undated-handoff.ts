import type { FileProblem } from '../../schemas/errors.js';
import type { Handoff } from '../../schemas/handoff.js';
import { parseYaml } from '../../schemas/safe-yaml.js';
import { trustPolicySchema } from '../../schemas/trust-root.js';
import { classifyChainName, CHAIN_DIR } from './chain-files.js';

/**
 * A handoff without `created` on a bus whose trust root bounds the age of signed handoffs (`maxHandoffAge`,
 * docs/PROTOCOL.md §12 "Replay"), pure: every node that enforces the root refuses it as stale, since its age cannot
 * be told, however well it is signed. Written by hand (title, to, command), it passed lint, the hook and `gitbus
 * sign` and failed only on the node; `sign` refuses it and lint and the hook fail on it, from the trust root in the
 * checkout (or the index being committed), and the node's refusal says the same fix.
 */

/** Whether a handoff is bounded by its `created` and has none (a schedule's template is exempt: it runs for ever). */
export function lacksCreated(h: Pick<Handoff, 'created' | 'schedule'>): boolean {
  return h.created === undefined && h.schedule === undefined;
}

/**
 * What the trust root in a checkout says of handoff age: from the newest version's policy (`trust/chain/<n>.policy.yaml`,
 * the highest n; read as advice, as everything in a checkout is). `maxHandoffAge` undefined: that policy cannot be
 * read, so nothing is said (lint reports the trust root's own problems).
 */
export interface AgeBound {
  version: number;
  maxHandoffAge: string | null | undefined;
}

/** The newest policy among `names` (the entries of trust/chain/), as the version and its file name; null: none. */
export function newestPolicy(names: Iterable<string>): { version: number; name: string } | null {
  let best: { version: number; name: string } | null = null;
  for (const name of names) {
    const c = classifyChainName(name);
    if (c?.kind === 'policy' && (!best || c.version > best.version)) best = { version: c.version, name };
  }
  return best;
}

/** The bound one policy file sets (null: none); undefined when it does not read as a policy. */
export function maxHandoffAgeIn(version: number, policy: Uint8Array | undefined): string | null | undefined {
  if (policy === undefined) return undefined;
  const yaml = parseYaml(`${CHAIN_DIR}/${version}.policy.yaml`, Buffer.from(policy).toString('utf8'));
  if (!yaml.ok) return undefined;
  const r = trustPolicySchema.safeParse(yaml.value);
  return r.success ? (r.data.maxHandoffAge ?? null) : undefined;
}

/** Whether `bound` makes a node refuse an undated handoff: the newest policy reads, and sets a bound. */
export function refusesUndated(bound: AgeBound | null): bound is AgeBound & { maxHandoffAge: string } {
  return typeof bound?.maxHandoffAge === 'string';
}

/** What to write, as `gitbus dispatch` writes it: the time now, ISO 8601 in UTC. */
export function createdLine(now: Date): string {
  return `created: ${now.toISOString()}`;
}

export function undatedReason(bound: AgeBound & { maxHandoffAge: string }): string {
  return `no created: this bus's trust root bounds how old a signed handoff may be (maxHandoffAge ${bound.maxHandoffAge}, trust version ${bound.version}), so a node that enforces the trust root refuses it as stale, however it is signed`;
}

/** The fix, before the handoff is committed: date it, then sign it. */
export function undatedFix(path: string, now: Date): string {
  return `add "${createdLine(now)}" (when it is dispatched, ISO 8601 in UTC) to its front matter, then sign it again ("gitbus sign ${path}"); "gitbus dispatch" writes created itself`;
}

export function undatedProblem(path: string, bound: AgeBound & { maxHandoffAge: string }, now: Date): FileProblem {
  return { path, field: 'created', reason: undatedReason(bound), fix: undatedFix(path, now), severity: 'error' };
}
