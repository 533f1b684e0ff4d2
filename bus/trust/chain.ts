import { parseYaml } from '../../schemas/safe-yaml.js';
import { trustLinkSchema, type NodeTrust, type TrustLink } from '../../schemas/trust-root.js';
import { linkPath } from './chain-files.js';
import { parseVersion, type TrustVersion } from './version-content.js';
import { principalsFor } from './allowed-signers.js';
import { checkFileSignatures, type Sidecar } from './file-signatures.js';
import { NAMESPACES } from './messages.js';
import type { SshPublicKey } from './ssh-key.js';
import { parseSshsig } from './sshsig.js';

/**
 * The trust chain's rules, pure (docs/PROTOCOL.md §12): version n counts only when its link names version n-1's
 * digest and enough admins of version n-1 signed it. A node starts from the version it accepted last (or pinned)
 * and walks forward; nothing before that version is ever looked at again.
 */

/** What the bus holds for one version: the three chain files (as found) and the signatures of its link. */
export interface VersionFiles {
  version: number;
  link?: Uint8Array;
  allowedSigners?: Uint8Array;
  policy?: Uint8Array;
  signatures: Sidecar[];
}

export interface SignedBy {
  fingerprint: string;
  principals: string[];
  path: string;
}

export interface RejectedSignature {
  path: string;
  fingerprint?: string;
  reason: string;
}

export type Step =
  | { status: 'accepted'; version: number; digest: string; signedBy: SignedBy[] }
  /** Signed by admins so far, but not by enough of them: a proposal waiting for more signatures. */
  | { status: 'pending'; version: number; digest: string; signedBy: SignedBy[]; needed: number; /** Admins the signatures count for (countedAdmins): fewer than `needed`. */ counted: number; waitingFor: string[]; rejected: RejectedSignature[] }
  /** `unsigned`: the version itself is sound and lacks only admin signatures (an admin may still sign it). */
  | { status: 'refused'; version: number; reason: string; fix: string; rejected: RejectedSignature[]; unsigned?: boolean };

export interface WalkResult {
  accepted: TrustVersion;
  /** The versions accepted by this walk, oldest first. */
  steps: Extract<Step, { status: 'accepted' }>[];
  /** Where the walk stopped short of the newest version on the bus: a proposal, or a refusal with its reason. */
  stop?: Extract<Step, { status: 'pending' | 'refused' }>;
}

export interface VerifyEnv {
  node: NodeTrust;
  /** Compared with `valid-after`/`valid-before`: the verifier's own clock, never a time a signature claims. */
  now: Date;
}

/** Whether this node refuses a key or a principal, whatever the bus says. */
export function isRevoked(node: NodeTrust, fingerprint: string, principal?: string): boolean {
  const revoke = node.revoke ?? [];
  return revoke.includes(fingerprint) || (principal !== undefined && revoke.includes(principal));
}

/** The admin principals `key` speaks for in `prev` (for trust signatures, now), after this node's revocations. */
export function adminPrincipalsOf(prev: TrustVersion, key: SshPublicKey, env: VerifyEnv): string[] {
  if (isRevoked(env.node, key.fingerprint)) return [];
  const admins = new Set(prev.policy.admins);
  return principalsFor(prev.signers, key, NAMESPACES.trust, env.now).principals.filter((p) => admins.has(p) && !isRevoked(env.node, key.fingerprint, p));
}

/** Admin signatures a change needs: the version's threshold, raised (never lowered) by this node's own. */
export function thresholdOf(prev: TrustVersion, node: NodeTrust): number {
  return Math.max(prev.policy.threshold ?? 1, node.threshold ?? 1);
}

function refused(version: number, reason: string, fix: string, rejected: RejectedSignature[] = []): Extract<Step, { status: 'refused' }> {
  return { status: 'refused', version, reason, fix, rejected };
}

/** A link file, or why it is not one. */
export function parseLink(bytes: Uint8Array, path: string): TrustLink | string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'it is not valid UTF-8';
  }
  const y = parseYaml(path, text);
  if (!y.ok) return y.problems.map((p) => p.reason).join('; ');
  const r = trustLinkSchema.safeParse(y.value);
  if (!r.success) return r.error.issues.map((i) => `${i.path.join('.') || 'the file'}: ${i.message}`).join('; ');
  return r.data;
}

/** Which admins of `prev` signed the link at `path`, and which signatures do not count and why. */
export function linkSignatures(prev: TrustVersion, path: string, link: Uint8Array, signatures: readonly Sidecar[], env: VerifyEnv): { signedBy: SignedBy[]; rejected: RejectedSignature[] } {
  const signedBy: SignedBy[] = [];
  const rejected: RejectedSignature[] = [];
  // Verified against `prev`'s allowed signers: who may sign version n is decided by version n-1 alone.
  const checked = checkFileSignatures(path, link, signatures, prev.signers, env.now);
  for (const [i, r] of checked.signatures.entries()) {
    const fingerprint = r.signer?.fingerprint;
    if (!r.ok || !fingerprint) {
      rejected.push({ path: r.sidecar, ...(fingerprint ? { fingerprint } : {}), reason: `the signature does not count (${r.reason ?? 'invalid'}): ${r.message ?? ''}` });
      continue;
    }
    if (isRevoked(env.node, fingerprint)) {
      rejected.push({ path: r.sidecar, fingerprint, reason: `the key ${fingerprint} is revoked in this node's node.yaml` });
      continue;
    }
    const key = signatures[i] ? parseSshsig(signatures[i].content).key : undefined;
    const principals = key ? adminPrincipalsOf(prev, key, env) : [];
    if (principals.length === 0) {
      const named = prev.signers.entries.filter((e) => e.key.fingerprint === fingerprint).flatMap((e) => e.principals);
      const who = named.length > 0 ? `${named.join(', ')} (${fingerprint})` : `the key ${fingerprint}`;
      const revokedAdmin = named.some((p) => prev.policy.admins.includes(p) && isRevoked(env.node, fingerprint, p));
      const refusedLine = r.refused[0];
      rejected.push({
        path: r.sidecar,
        fingerprint,
        reason: revokedAdmin
          ? `${who} is revoked in this node's node.yaml`
          : refusedLine && named.some((p) => prev.policy.admins.includes(p))
            ? `${who} may not sign trust changes now: ${refusedLine.reason}`
            : `signed by ${who}, which is not an admin key of version ${prev.version}`,
      });
      continue;
    }
    if (signedBy.some((b) => b.fingerprint === fingerprint)) continue;
    signedBy.push({ fingerprint, principals, path: r.sidecar });
  }
  return { signedBy, rejected };
}

/**
 * The admins the signatures count for: one person with two keys counts once, and one key counts for one admin
 * though a version lists it for several (sharedAdminKeys: writers refuse that, a version written by hand may not).
 * The most admins the keys can stand for, each key for one of its principals: a matching, found by augmenting paths
 * (a version has a handful of admins).
 */
export function countedAdmins(signedBy: readonly Pick<SignedBy, 'principals'>[]): Set<string> {
  /** principal -> the index of the signature counted for it. */
  const holder = new Map<string, number>();
  const assign = (i: number, seen: Set<string>): boolean => {
    for (const p of signedBy[i]?.principals ?? []) {
      if (seen.has(p)) continue;
      seen.add(p);
      const other = holder.get(p);
      if (other === undefined || assign(other, seen)) {
        holder.set(p, i);
        return true;
      }
    }
    return false;
  };
  for (let i = 0; i < signedBy.length; i++) assign(i, new Set());
  return new Set(holder.keys());
}

/**
 * Judges version `files.version` against `prev`, the version before it (for version 1, `prev` is version 1
 * itself: it is signed by its own admins). Returns the step and, when accepted, the new version.
 */
export function verifyNext(prev: TrustVersion | null, files: VersionFiles, env: VerifyEnv): { step: Step; next?: TrustVersion } {
  const n = files.version;
  const path = linkPath(n);
  if (!files.link) return { step: refused(n, `version ${n} has no link ${path}`, 'write trust changes with "gitbus trust", which writes the link') };
  if (!files.allowedSigners || !files.policy) return { step: refused(n, `version ${n} is missing ${!files.allowedSigners ? 'its allowed_signers' : 'its policy.yaml'}`, 'write trust changes with "gitbus trust"') };
  const link = parseLink(files.link, path);
  if (typeof link === 'string') return { step: refused(n, `${path} is not a valid link: ${link}`, 'write trust changes with "gitbus trust"') };
  if (link.version !== n) return { step: refused(n, `${path} says version ${link.version}`, 'write trust changes with "gitbus trust"') };
  const parsed = parseVersion(n, files.allowedSigners, files.policy);
  if (!parsed.ok) {
    const p = parsed.problems[0];
    return { step: refused(n, `version ${n} is not a valid trust root: ${p ? `${p.path}${p.field ? ` (${p.field})` : ''}: ${p.reason}` : 'invalid'}`, p?.fix ?? 'write trust changes with "gitbus trust"') };
  }
  const next = parsed.value;
  if (link.digest !== next.digest) return { step: refused(n, `the digest in ${path} (${link.digest}) does not match version ${n}'s files (${next.digest}): they were changed after signing`, 'restore the files as signed, or make the change again with "gitbus trust"') };
  const signer = prev ?? next;
  if (prev === null) {
    if (link.previous !== undefined) return { step: refused(n, `${path} names a previous version, but this is the first`, 'write the trust root with "gitbus trust init"') };
  } else if (link.previous !== prev.digest) {
    return {
      step: refused(
        n,
        link.previous === undefined
          ? `version ${n} names no previous version: it does not follow version ${prev.version}`
          : `version ${n} follows ${link.previous}, not version ${prev.version} as this node accepted it (${prev.digest}): a fork of the trust chain`,
        'the admins must make the change on top of the version every node accepted ("gitbus trust list" on an admin\'s node)',
      ),
    };
  }
  const { signedBy, rejected } = linkSignatures(signer, path, files.link, files.signatures, env);
  const needed = thresholdOf(signer, env.node);
  const admins = countedAdmins(signedBy);
  if (admins.size >= needed) return { step: { status: 'accepted', version: n, digest: next.digest, signedBy }, next };
  const which = prev === null ? 'its own admins' : `admins of version ${prev.version}`;
  if (signedBy.length === 0) {
    // Not one admin stands behind it: whoever wrote it could not sign for the admins. Not a proposal.
    const first = rejected[0];
    const why = first ? `${first.reason}${rejected.length > 1 ? ` (+${rejected.length - 1} more)` : ''}` : 'it is not signed';
    return {
      step: {
        ...refused(n, `version ${n} has none of the ${needed} signature(s) it needs from ${which} (${signer.policy.admins.join(', ')}): ${why}`, `an admin of version ${signer.version} signs it with "gitbus trust sign ${n} --key KEY" if it is wanted; signatures of others never count`, rejected),
        unsigned: true,
      },
    };
  }
  const waitingFor = signer.policy.admins.filter((a) => !admins.has(a) && !(env.node.revoke ?? []).includes(a));
  return { step: { status: 'pending', version: n, digest: next.digest, signedBy, needed, counted: admins.size, waitingFor, rejected } };
}

/**
 * Walks from `start` (the version this node accepted last) to the newest version the bus holds, stopping at
 * the first one that does not count. A version missing while a later one exists is a skipped version.
 */
export function walkChain(start: TrustVersion, versions: ReadonlyMap<number, VersionFiles>, env: VerifyEnv): WalkResult {
  let current = start;
  const steps: WalkResult['steps'] = [];
  const newest = Math.max(0, ...versions.keys());
  for (let n = start.version + 1; n <= newest; n++) {
    const files = versions.get(n);
    if (!files) return { accepted: current, steps, stop: refused(n, `version ${n} is missing, but version ${newest} exists: a skipped version`, `the admins restore version ${n}, or remove the versions after it and make the change again`) };
    const r = verifyNext(current, files, env);
    if (r.step.status !== 'accepted' || !r.next) return { accepted: current, steps, stop: r.step as Extract<Step, { status: 'pending' | 'refused' }> };
    steps.push(r.step);
    current = r.next;
  }
  return { accepted: current, steps };
}

/** Version 1 read as the root of a walk: checked like any version, signed by its own admins. */
export function verifyRoot(files: VersionFiles, env: VerifyEnv): { step: Step; root?: TrustVersion } {
  const r = verifyNext(null, files, env);
  return r.next ? { step: r.step, root: r.next } : { step: r.step };
}
