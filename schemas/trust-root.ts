import { z } from './zod.js';
import { positiveDurationSchema } from './duration-schema.js';
import { RUNNERS } from './field-limits.js';
import { LABEL_RE, NODE_NAME_RE } from './ids.js';
import type { FieldViolation } from './kind-rules.js';
import { settingsSchema } from './settings-schema.js';

/**
 * The trust root's files (docs/PROTOCOL.md §12): `trust/policy.yaml` of each version and the chain link
 * `trust/chain/<version>.yaml` that binds a version's content to the version before it. Pure: no I/O.
 */

/** A principal as gitbus writes it in allowed_signers: one word, no wildcard (git's patterns are not used). */
export const PRINCIPAL_RE = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/;
export const PRINCIPAL_RULE = 'a principal: a letter or digit, then letters, digits, ".", "_", "@", "+" or "-" (at most 100), for example alice@example.com';
/**
 * A node's principal in allowed_signers: `node:<node name>` (docs/PROTOCOL.md §12, "Node keys"). The colon keeps it
 * apart from every person's principal (PRINCIPAL_RE has none), so no person can be listed as a node or the reverse.
 */
export const NODE_PRINCIPAL_PREFIX = 'node:';
export const NODE_PRINCIPAL_RE = new RegExp(`^${NODE_PRINCIPAL_PREFIX}${NODE_NAME_RE.source.slice(1)}`);
/** The namespaces a node's key signs in: its claims, releases, responses and card, nothing else. */
export const NODE_KEY_NAMESPACES = ['gitbus-claim@v1', 'gitbus-release@v1', 'gitbus-response@v1', 'gitbus-node@v1'] as const;

export function nodePrincipal(node: string): string {
  return `${NODE_PRINCIPAL_PREFIX}${node}`;
}

/** The node a `node:<name>` principal names, or undefined for a person's principal. */
export function nodeOfPrincipal(principal: string): string | undefined {
  return NODE_PRINCIPAL_RE.test(principal) ? principal.slice(NODE_PRINCIPAL_PREFIX.length) : undefined;
}

/** A principal allowed on an allowed_signers line of a trust version: a person's, or a node's. */
export function isTrustPrincipal(principal: string): boolean {
  return PRINCIPAL_RE.test(principal) || NODE_PRINCIPAL_RE.test(principal);
}

/**
 * What a trust version says of claims, releases, responses and node cards written in the name of a node it lists no
 * key for: `accept` them (a bus migrating, whose nodes' keys are not all listed yet) or `refuse` them (every node
 * must be listed; an unlisted node claims nothing). Absent: accept.
 */
export const UNLISTED_NODES = ['accept', 'refuse'] as const;
export type UnlistedNodes = (typeof UNLISTED_NODES)[number];
/** An SSH key fingerprint as `ssh-keygen -l` prints it. */
export const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}$/;
export const FINGERPRINT_RULE = 'an SSH key fingerprint as "ssh-keygen -lf KEY" prints it: SHA256: and 43 base64 characters';
/** The digest of one version's content (contentDigest in bus/trust/digest.ts). */
export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
export const DIGEST_RULE = 'a trust root digest: sha256: and 64 lower-case hex digits, as "gitbus trust list" prints it';
/** Versions are small integers; the cap keeps them exact and their file names short. */
export const MAX_TRUST_VERSION = 999_999_999;

export const principalSchema = z.string().check(z.regex(PRINCIPAL_RE)).register(z.globalRegistry, { description: PRINCIPAL_RULE });
const principalOrAny = z.union([z.literal('*'), principalSchema]).register(z.globalRegistry, { description: `"*" (any allowed signer) or ${PRINCIPAL_RULE}` });
const runnerOrAny = z.union([z.literal('*'), z.enum(RUNNERS)]).register(z.globalRegistry, { description: `"*" or a runner: one of ${RUNNERS.join(', ')}` });
const nodeOrAny = z.union([z.literal('*'), z.string().check(z.regex(NODE_NAME_RE))]).register(z.globalRegistry, { description: '"*" or a node name' });
const versionSchema = z.int().check(z.minimum(1), z.maximum(MAX_TRUST_VERSION)).register(z.globalRegistry, { description: `a version: a whole number from 1 to ${MAX_TRUST_VERSION}` });

/**
 * Who may make which nodes run what. A rule covers a handoff signed by one of `signers`, for one of `runners`,
 * run by a node named in `nodes` or carrying one of `labels`, within its limits.
 */
export const trustRuleSchema = z.strictObject({
  signers: z.array(principalOrAny).check(z.minLength(1)),
  runners: z.array(runnerOrAny).check(z.minLength(1)),
  nodes: z.optional(z.array(nodeOrAny).check(z.minLength(1))),
  labels: z.optional(z.array(z.string().check(z.regex(LABEL_RE)).register(z.globalRegistry, { description: 'a label' })).check(z.minLength(1))),
  maxTimeout: z.optional(positiveDurationSchema),
  maxBudgetUsd: z.optional(z.number().check(z.minimum(0))).register(z.globalRegistry, { description: 'a number of US dollars ≥ 0' }),
}).register(z.globalRegistry, { description: 'a rule: signers, runners, and nodes and/or labels' });

/**
 * The bus settings that decide reclaims and re-runs (docs/PROTOCOL.md §12, "Settings that decide reclaims"). A trust
 * version that names them fixes them for every node that enforces it, whatever gitbus.yaml says: with push access
 * alone `lease: 1s` would make every node find every other silent and run its tasks again.
 */
export const TRUSTED_SETTING_KEYS = ['lease', 'heartbeat', 'maxAttempts'] as const;
export type TrustedSettingKey = (typeof TRUSTED_SETTING_KEYS)[number];

/** The same formats and rules as gitbus.yaml's keys (schemas/settings.ts), each optional. */
export const trustSettingsSchema = z.strictObject({
  lease: settingsSchema.shape.lease,
  heartbeat: settingsSchema.shape.heartbeat,
  maxAttempts: settingsSchema.shape.maxAttempts,
}).register(z.globalRegistry, { description: 'the bus settings this version fixes: lease, heartbeat, maxAttempts' });

export type TrustSettings = z.infer<typeof trustSettingsSchema>;

export const trustPolicySchema = z.strictObject({
  version: versionSchema,
  admins: z.array(principalSchema).check(z.minLength(1)),
  threshold: z.optional(z.int().check(z.minimum(1), z.maximum(100))).register(z.globalRegistry, { description: 'a whole number from 1 to 100' }),
  rules: z.optional(z.array(trustRuleSchema)),
  unlistedNodes: z.optional(z.enum(UNLISTED_NODES)).register(z.globalRegistry, { description: 'accept or refuse: what counts of files written in the name of a node with no key listed' }),
  settings: z.optional(trustSettingsSchema),
  /**
   * How old a signed handoff's `created` may be when a node claims it (docs/PROTOCOL.md §12, "Replay"): a handoff
   * replayed after its archived folders were deleted is refused once it is older. Absent: no bound.
   */
  maxHandoffAge: z.optional(positiveDurationSchema),
}).register(z.globalRegistry, { description: 'trust policy: trust/policy.yaml' });

/** What `gitbus trust init` writes into version 1: old enough for a task that waits a while, short enough to bound replays. */
export const DEFAULT_MAX_HANDOFF_AGE = '30d';

export type TrustRule = z.infer<typeof trustRuleSchema>;
export type TrustPolicy = z.infer<typeof trustPolicySchema>;

/** Rules across fields; `principals` are those allowed_signers names, so admins without a key are caught. */
export function policyRules(p: TrustPolicy, principals: ReadonlySet<string>): FieldViolation[] {
  const out: FieldViolation[] = [];
  const threshold = p.threshold ?? 1;
  if (new Set(p.admins).size !== p.admins.length) out.push({ field: 'admins', reason: 'an admin is listed twice', fix: 'list each admin once', severity: 'error' });
  if (threshold > new Set(p.admins).size)
    out.push({ field: 'threshold', reason: `the threshold (${threshold}) is more than the number of admins (${new Set(p.admins).size}), so no change could ever be signed`, fix: 'lower the threshold or add admins', severity: 'error' });
  p.admins.forEach((a, i) => {
    if (!principals.has(a)) out.push({ field: `admins.${i}`, reason: `the admin ${a} has no key in allowed_signers, so they could never sign a change`, fix: `add a key for ${a} to allowed_signers, or remove ${a} from admins`, severity: 'error' });
  });
  (p.rules ?? []).forEach((r, i) => {
    if (!r.nodes && !r.labels) out.push({ field: `rules.${i}`, reason: 'the rule names neither nodes nor labels, so it covers no node', fix: 'add nodes: ["*"] for every node, or the nodes or labels it is for', severity: 'error' });
    r.signers.forEach((s, j) => {
      if (s !== '*' && !principals.has(s)) out.push({ field: `rules.${i}.signers.${j}`, reason: `${s} has no key in allowed_signers`, fix: `add a key for ${s}, or remove it from the rule`, severity: 'warning' });
    });
  });
  return out;
}

/** `trust/chain/<version>.yaml`: what admins sign. Binds a version's content (`digest`) to the one before it. */
export const trustLinkSchema = z.strictObject({
  version: versionSchema,
  /** contentDigest of `<version>.allowed_signers` and `<version>.policy.yaml`. */
  digest: z.string().check(z.regex(DIGEST_RE)).register(z.globalRegistry, { description: DIGEST_RULE }),
  /** The previous version's `digest`; absent in version 1. */
  previous: z.optional(z.string().check(z.regex(DIGEST_RE)).register(z.globalRegistry, { description: DIGEST_RULE })),
}).register(z.globalRegistry, { description: 'trust chain link: trust/chain/<version>.yaml' });

export type TrustLink = z.infer<typeof trustLinkSchema>;

/**
 * What a node's own node.yaml says about trust: keys and principals it never accepts whatever the bus says,
 * and a higher threshold for trust changes. It can only take away, never add.
 */
export const nodeTrustSchema = z.strictObject({
  revoke: z.optional(z.array(z.union([z.string().check(z.regex(FINGERPRINT_RE)), principalSchema]).register(z.globalRegistry, { description: `${FINGERPRINT_RULE}, or ${PRINCIPAL_RULE}` }))),
  threshold: z.optional(z.int().check(z.minimum(1), z.maximum(100))),
});

export type NodeTrust = z.infer<typeof nodeTrustSchema>;
