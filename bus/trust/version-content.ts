import type { FileProblem } from '../../schemas/errors.js';
import { problemsFromIssues, problemsFromViolations } from '../../schemas/field-problems.js';
import { parseYaml, renderYaml } from '../../schemas/safe-yaml.js';
import { isTrustPrincipal, PRINCIPAL_RULE, policyRules, trustPolicySchema, type TrustPolicy } from '../../schemas/trust-root.js';
import { allowedSignersPath, contentDigest, policyPath } from './chain-files.js';
import { parseAllowedSigners, type AllowedSigners } from './allowed-signers.js';
import { decodeUtf8Strict } from '../../schemas/utf8.js';

/** One version of the trust root, read and checked: who may sign, and what they may do. */
export interface TrustVersion {
  version: number;
  digest: string;
  /** The files' exact text, kept so a node can store the version it accepted and check it again. */
  allowedSigners: string;
  policyText: string;
  policy: TrustPolicy;
  signers: AllowedSigners;
}


function text(path: string, bytes: Uint8Array, problems: FileProblem[]): string | undefined {
  try {
    return decodeUtf8Strict(bytes);
  } catch {
    problems.push({ path, field: '', reason: 'the file is not valid UTF-8', fix: 'write the trust files with "gitbus trust"', severity: 'error' });
    return undefined;
  }
}

/** Reads one version's two files; every problem is an error, since a node must not act on half a policy. */
export function parseVersion(version: number, allowedSignersBytes: Uint8Array, policyBytes: Uint8Array, paths = { allowedSigners: allowedSignersPath(version), policy: policyPath(version) }): { ok: true; value: TrustVersion } | { ok: false; problems: FileProblem[] } {
  const problems: FileProblem[] = [];
  const signersText = text(paths.allowedSigners, allowedSignersBytes, problems);
  const policyText = text(paths.policy, policyBytes, problems);
  if (signersText === undefined || policyText === undefined) return { ok: false, problems };
  const parsed = parseAllowedSigners(signersText, paths.allowedSigners);
  // A line ssh-keygen would skip is refused, not skipped: gitbus writes these files, so one is a sign of tampering.
  problems.push(...parsed.problems.filter((p) => p.severity === 'error'));
  for (const e of parsed.entries) {
    for (const principal of e.principals) {
      if (!isTrustPrincipal(principal)) problems.push({ path: paths.allowedSigners, field: `line ${e.line}`, reason: `${JSON.stringify(principal)} is not a principal gitbus accepts (patterns are not used)`, fix: `use ${PRINCIPAL_RULE}, or node:<node name> for a node's key`, severity: 'error' });
    }
  }
  const yaml = parseYaml(paths.policy, policyText);
  if (!yaml.ok) return { ok: false, problems: [...problems, ...yaml.problems] };
  const r = trustPolicySchema.safeParse(yaml.value);
  if (!r.success) return { ok: false, problems: [...problems, ...problemsFromIssues(paths.policy, trustPolicySchema, r.error.issues)] };
  if (r.data.version !== version) problems.push({ path: paths.policy, field: 'version', reason: `the policy says version ${r.data.version} in the file of version ${version}`, fix: 'write trust changes with "gitbus trust"', severity: 'error' });
  const principals = new Set(parsed.entries.flatMap((e) => e.principals));
  problems.push(...problemsFromViolations(paths.policy, policyRules(r.data, principals)).filter((p) => p.severity === 'error'));
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: { version, digest: contentDigest(allowedSignersBytes, policyBytes), allowedSigners: signersText, policyText, policy: r.data, signers: parsed },
  };
}

export interface AdminKey {
  principal: string;
  fingerprint: string;
}

/** Every key of every admin of `v`, as shown when a node pins it. */
export function adminKeysOf(v: TrustVersion): AdminKey[] {
  const admins = new Set(v.policy.admins);
  return v.signers.entries.flatMap((e) => e.principals.filter((p) => admins.has(p)).map((principal) => ({ principal, fingerprint: e.key.fingerprint })));
}

/**
 * Keys listed for more than one admin of `v`: one such key would sign as several admins, so a threshold of two
 * could be met by one person. Writers refuse them (bus/trust/change.ts renderVersion); readers count each key for
 * one admin at most (bus/trust/chain.ts countedAdmins), so a version written by hand gains nothing from one.
 */
export function sharedAdminKeys(v: TrustVersion): { fingerprint: string; principals: string[] }[] {
  const byKey = new Map<string, Set<string>>();
  for (const { principal, fingerprint } of adminKeysOf(v)) byKey.set(fingerprint, (byKey.get(fingerprint) ?? new Set()).add(principal));
  return [...byKey].filter(([, p]) => p.size > 1).map(([fingerprint, p]) => ({ fingerprint, principals: [...p] }));
}

/** policy.yaml as gitbus writes it. */
export function renderPolicy(policy: TrustPolicy): string {
  return `# gitbus trust policy; see docs/PROTOCOL.md §12. Written by "gitbus trust": a change counts only when\n# enough admins of the previous version signed it.\n${renderYaml(policy as unknown as Record<string, unknown>)}`;
}
