import { z } from './zod.js';
import { labelSchema, nodeNameSchema, protocolSchema, runnerSchema, text } from './fields.js';
import { timestampSchema } from './timestamp-schema.js';
import { positiveDurationSchema } from './duration-schema.js';
import { cardEnvSchema } from './env-drift.js';
import { sshKeyLineSchema } from './ssh-key-line-schema.js';
import type { FieldViolation } from './kind-rules.js';
import { CARD_LIST_MAX } from './field-limits.js';
import { DIGEST_RE, DIGEST_RULE, MAX_TRUST_VERSION } from './trust-root.js';

const oneLine = (what: string, maxChars: number): z.ZodMiniString => text({ what, maxChars, oneLine: true });


export const hostSchema = z.strictObject({
  os: z.optional(oneLine('an operating system name, such as linux', 100)),
  arch: z.optional(oneLine('a CPU architecture, such as x64', 100)),
  cpus: z.optional(z.int().check(z.minimum(1))).register(z.globalRegistry, { description: 'a whole number ≥ 1' }),
  memoryMb: z.optional(z.int().check(z.minimum(0))).register(z.globalRegistry, { description: 'a whole number of megabytes ≥ 0' }),
  hostname: z.optional(oneLine('a host name', 253)),
}).register(z.globalRegistry, { description: 'the machine: {os, arch, cpus, memoryMb, hostname}' });

/**
 * What the node's policy (node.yaml `policy:`) accepts at most, so that `dispatch --to` can refuse a task the node
 * would refuse. Its runners are the card's `runners`; its command patterns stay on the node (a pattern read from
 * the bus would be run by every dispatcher, and a forged one could hang them), so `commands` only says there are
 * some. Field order here is the order gitbus writes them.
 */
export const cardPolicySchema = z.strictObject({
  signers: z.optional(z.array(oneLine('a principal or a key fingerprint', 500)).check(z.maxLength(100))).register(z.globalRegistry, { description: 'principals or key fingerprints whose signature a task needs' }),
  repos: z.optional(z.array(oneLine('a repository pattern', 1000)).check(z.maxLength(CARD_LIST_MAX))).register(z.globalRegistry, { description: 'globs over project repositories (URLs or names) the node works on' }),
  workRoots: z.optional(z.array(z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]{0,39}$/))).check(z.maxLength(100))).register(z.globalRegistry, { description: 'named work roots a workdir may use (the default one always)' }),
  commands: z.optional(z.boolean()).register(z.globalRegistry, { description: 'whether the node limits the commands it runs (the patterns are not published)' }),
  maxTimeout: z.optional(positiveDurationSchema),
  maxBudgetUsd: z.optional(z.number().check(z.minimum(0))).register(z.globalRegistry, { description: 'the largest budget of a claude task, in US dollars' }),
}).register(z.globalRegistry, { description: "the node's policy: {signers, repos, workRoots, commands, maxTimeout, maxBudgetUsd}" });

/** Field order here is the order gitbus writes them. */
export const nodeCardSchema = z.strictObject({
  protocol: z.optional(protocolSchema),
  node: nodeNameSchema,
  labels: z.optional(z.array(labelSchema)).register(z.globalRegistry, { description: 'a list of labels' }),
  runners: z.optional(z.array(runnerSchema)).register(z.globalRegistry, { description: 'a list of runner names' }),
  parallel: z.optional(z.int().check(z.minimum(1), z.maximum(10_000))).register(z.globalRegistry, { description: 'a whole number from 1 to 10000' }),
  policy: z.optional(cardPolicySchema),
  /**
   * node.yaml `projectsOnly: true`: the only repos the node takes project tasks for, as its project names and their
   * URLs. Top-level rather than in `policy`, whose fields an older reader checks strictly: a card field it does not
   * know it ignores (PROTOCOL.md §6). Left out: the card does not limit repos beyond `policy.repos`.
   */
  projectsOnly: z.optional(z.array(oneLine('a project name or repository URL', 1000)).check(z.maxLength(CARD_LIST_MAX))).register(z.globalRegistry, { description: 'the project names and repository URLs the node takes project tasks for (node.yaml projectsOnly)' }),
  env: z.optional(z.array(cardEnvSchema).check(z.maxLength(50))).register(z.globalRegistry, { description: 'drift of the environment profiles the node subscribes to (env/)' }),
  version: z.optional(oneLine('a gitbus version', 100)),
  host: z.optional(hostSchema),
  /**
   * The tmux socket the node's watcher starts tmux sessions on (its GITBUS_TMUX_SOCKET, made absolute), so that
   * `gitbus attach` anywhere names it; left out for the user's default server. Top-level, not in the strict `host`,
   * so that older readers ignore it (PROTOCOL.md §6).
   */
  tmuxSocket: z.optional(oneLine('the absolute path of the tmux socket the node runs tmux tasks on', 1000)),
  /** The node's own public key (docs/PROTOCOL.md §12, "Node keys"): offered, not trusted, until trust/ lists it. */
  key: z.optional(sshKeyLineSchema),
  /**
   * The trust root version this node pinned (docs/PROTOCOL.md §12, "Pinning"), and so enforces; absent: it pinned
   * none (or runs a gitbus from before the field). A report, as `env` is: readers warn of nodes that run unsigned work.
   */
  trustPin: z.optional(
    z.strictObject({
      version: z.int().check(z.minimum(1), z.maximum(MAX_TRUST_VERSION)).register(z.globalRegistry, { description: 'a trust root version, a whole number ≥ 1' }),
      digest: z.string().check(z.regex(DIGEST_RE)).register(z.globalRegistry, { description: DIGEST_RULE }),
    }),
  ).register(z.globalRegistry, { description: 'the trust root version this node pinned: {version, digest}' }),
  joined: z.optional(timestampSchema),
  updated: z.optional(timestampSchema),
}).register(z.globalRegistry, { description: 'a node card: nodes/<node>.md, what a node offers' });

export type NodeCard = z.infer<typeof nodeCardSchema>;
export type CardPolicy = z.infer<typeof cardPolicySchema>;
export type HostInfo = z.infer<typeof hostSchema>;

/**
 * A host name `gitbus attach` may give ssh as its destination: never one ssh could take for an option (a leading
 * "-") or split into more than one word. The card is anyone's with push access to write.
 */
const SSH_HOST_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

export function isSshHostName(host: string): boolean {
  return SSH_HOST_RE.test(host);
}

/** A socket `gitbus attach` may give tmux's `-S`: an absolute path, never one tmux could take for an option. */
export function isTmuxSocketPath(path: string): boolean {
  return path.startsWith('/');
}

/**
 * A warning, not an error: the rest of the card (labels, runners, policy) is still the node's word, and only
 * `attach` uses the host name and the tmux socket, which it refuses at use (ATTACH_HOST_REFUSED, ATTACH_SOCKET_REFUSED).
 */
export function nodeCardRules(card: NodeCard): FieldViolation[] {
  const out: FieldViolation[] = [];
  const host = card.host?.hostname;
  if (host !== undefined && !isSshHostName(host)) {
    out.push({
      field: 'host.hostname',
      reason: `${JSON.stringify(host)} is not a host name (letters, digits, ".", "-" and "_", starting with a letter or digit); gitbus attach will not give it to ssh`,
      fix: `set it to the machine's host name, or remove it: the node's watcher writes its real one as it starts (git log -- nodes/${card.node}.md shows who wrote this)`,
      severity: 'warning',
    });
  }
  const socket = card.tmuxSocket;
  if (socket !== undefined && !isTmuxSocketPath(socket)) {
    out.push({
      field: 'tmuxSocket',
      reason: `${JSON.stringify(socket)} is not an absolute path; gitbus attach will not give it to tmux`,
      fix: `remove it: the node's watcher writes the socket it runs tmux on (its GITBUS_TMUX_SOCKET) as it starts (git log -- nodes/${card.node}.md shows who wrote this)`,
      severity: 'warning',
    });
  }
  // Readers take a list this long as one an earlier build cut (CARD_LIST_MAX): said, since it limits nothing.
  for (const [field, list] of [['policy.repos', card.policy?.repos], ['projectsOnly', card.projectsOnly]] as const) {
    if (list?.length === CARD_LIST_MAX) {
      out.push({
        field,
        reason: `a list of ${CARD_LIST_MAX} entries is taken for one an earlier gitbus cut short, so readers judge no repo by it (the node still judges every task by its node.yaml)`,
        fix: `upgrade gitbus on ${card.node}: it leaves a list this long out of its card whole and says so as its watcher starts (event card-list-left-out)`,
        severity: 'warning',
      });
    }
  }
  return out;
}
