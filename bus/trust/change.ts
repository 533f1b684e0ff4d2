import { renderYaml } from '../../schemas/safe-yaml.js';
import { DEFAULT_MAX_HANDOFF_AGE, FINGERPRINT_RE, nodeOfPrincipal, nodePrincipal, TRUSTED_SETTING_KEYS, type TrustPolicy, type TrustRule, type TrustSettings, type UnlistedNodes } from '../../schemas/trust-root.js';
import { contentDigest } from './chain-files.js';
import { nodeSignerLine } from './node-keys.js';
import { TrustChangeInvalidError } from './root-errors.js';
import type { SshPublicKey } from './ssh-key.js';
import { mergedTrustSettings, settingsText } from './trusted-settings.js';
import { parseVersion, renderPolicy, sharedAdminKeys, type TrustVersion } from './version-content.js';

/**
 * Trust changes as pure edits of one version into the next (docs/PROTOCOL.md §12). Lines of allowed_signers that
 * a change does not touch are kept byte for byte, so a diff of two versions shows exactly the change.
 */

export type PublicKey = SshPublicKey;

export type TrustEdit =
  | { kind: 'add-signer'; principal: string; key: PublicKey; namespaces?: string[] }
  | { kind: 'remove-signer'; match: string }
  | { kind: 'add-admin'; principal: string; key?: PublicKey }
  | { kind: 'remove-admin'; principal: string }
  | { kind: 'add-rule'; rule: TrustRule }
  /** 1-based, as `gitbus trust list` numbers them. */
  | { kind: 'remove-rule'; index: number }
  | { kind: 'threshold'; threshold: number }
  /** Lists `key` as the node's one key (`node:<node>`), replacing the line of a key listed before: rotation. */
  | { kind: 'add-node'; node: string; key: PublicKey }
  | { kind: 'remove-node'; node: string }
  | { kind: 'unlisted-nodes'; value: UnlistedNodes }
  /** Fixes these bus settings (lease, heartbeat, maxAttempts) for nodes that enforce trust; other keys stay as they were. */
  | { kind: 'settings'; settings: TrustSettings }
  /** Bounds the age of the signed handoffs nodes run (a duration), or, null, removes the bound. */
  | { kind: 'max-handoff-age'; value: string | null };

export interface VersionContent {
  version: number;
  allowedSigners: string;
  policy: TrustPolicy;
}

/** The namespace of a kind's signatures (`handoff` is gitbus-handoff@v1); a full namespace is kept as given. */
export function namespaceOf(name: string): string {
  return name.includes('@') ? name : `gitbus-${name}@v1`;
}

export function signerLine(principal: string, key: PublicKey, namespaces?: string[]): string {
  const options = namespaces && namespaces.length > 0 ? ` namespaces="${namespaces.map(namespaceOf).join(',')}"` : '';
  return `${principal}${options} ${key.line}`;
}

function appendLine(text: string, line: string): string {
  return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${line}\n`;
}

/** Drops `principal` from every line; a line left without principals goes. Returns the text and whether it changed. */
function withoutPrincipal(text: string, principal: string): { text: string; changed: boolean } {
  let changed = false;
  const lines = text.split('\n').flatMap((line) => {
    const m = /^(\s*)(\S+)(\s.*)$/.exec(line);
    if (!m || line.trim().startsWith('#')) return [line];
    const principals = (m[2] ?? '').split(',');
    if (!principals.includes(principal)) return [line];
    changed = true;
    const rest = principals.filter((p) => p !== principal);
    return rest.length === 0 ? [] : [`${m[1] ?? ''}${rest.join(',')}${m[3] ?? ''}`];
  });
  return { text: lines.join('\n'), changed };
}

/**
 * `line` in place of the first line that names `principal`; `principal` taken off every other line (a line left
 * without principals goes). Keeps the node's line where it was, so a rotation's diff is one changed line.
 */
function replacingPrincipal(text: string, principal: string, line: string): string {
  let placed = false;
  const lines = text.split('\n').flatMap((l) => {
    const m = /^(\s*)(\S+)(\s.*)$/.exec(l);
    if (!m || l.trim().startsWith('#')) return [l];
    const principals = (m[2] ?? '').split(',');
    if (!principals.includes(principal)) return [l];
    const rest = principals.filter((p) => p !== principal);
    const kept = rest.length === 0 ? [] : [`${m[1] ?? ''}${rest.join(',')}${m[3] ?? ''}`];
    if (placed) return kept;
    placed = true;
    return [...kept, line];
  });
  return placed ? lines.join('\n') : appendLine(text, line);
}

/** Who else `key` is listed for in `prev` than `principal`: one key speaks for one node, and never for a node and a person. */
function otherHolders(prev: TrustVersion, key: PublicKey, principal: string): { principals: string[]; line: number } | undefined {
  const e = prev.signers.entries.find((x) => x.key.fingerprint === key.fingerprint && x.principals.some((p) => p !== principal));
  return e ? { principals: e.principals.filter((p) => p !== principal), line: e.line } : undefined;
}

function refuseNodeKey(prev: TrustVersion, key: PublicKey, principal: string): void {
  const node = prev.signers.entries.find((x) => x.key.fingerprint === key.fingerprint && x.principals.some((p) => nodeOfPrincipal(p) !== undefined));
  if (node) invalid(`the key ${key.fingerprint} is node ${node.principals.map(nodeOfPrincipal).find((n) => n !== undefined) ?? '?'}'s key (line ${node.line}), which never signs for a person`, `give ${principal} a key of their own`);
}

function withoutKey(version: TrustVersion, fingerprint: string): { text: string; changed: boolean } {
  const drop = new Set(version.signers.entries.filter((e) => e.key.fingerprint === fingerprint).map((e) => e.line));
  const lines = version.allowedSigners.split('\n').filter((_, i) => !drop.has(i + 1));
  return { text: lines.join('\n'), changed: drop.size > 0 };
}

function invalid(reason: string, fix: string): never {
  throw new TrustChangeInvalidError(reason, fix);
}

/** The content of the version after `prev` with `edit` applied; throws TrustChangeInvalidError for a change that makes no sense. */
export function applyEdit(prev: TrustVersion, edit: TrustEdit): VersionContent {
  const policy: TrustPolicy = structuredClone(prev.policy);
  policy.version = prev.version + 1;
  let allowedSigners = prev.allowedSigners;
  switch (edit.kind) {
    case 'add-signer': {
      const same = prev.signers.entries.find((e) => e.key.fingerprint === edit.key.fingerprint && e.principals.includes(edit.principal));
      if (same) invalid(`${edit.principal} already has the key ${edit.key.fingerprint} (line ${same.line})`, 'remove it first to change its options, or add another key');
      refuseNodeKey(prev, edit.key, edit.principal);
      allowedSigners = appendLine(allowedSigners, signerLine(edit.principal, edit.key, edit.namespaces));
      break;
    }
    case 'remove-signer': {
      const r = FINGERPRINT_RE.test(edit.match) ? withoutKey(prev, edit.match) : withoutPrincipal(allowedSigners, edit.match);
      if (!r.changed) invalid(`no signer ${edit.match} in version ${prev.version}`, 'name a principal or a key fingerprint that "gitbus trust list" shows');
      allowedSigners = r.text;
      break;
    }
    case 'add-admin':
      if (policy.admins.includes(edit.principal)) invalid(`${edit.principal} is already an admin`, 'nothing to do');
      policy.admins.push(edit.principal);
      if (edit.key) refuseNodeKey(prev, edit.key, edit.principal);
      if (edit.key) allowedSigners = appendLine(allowedSigners, signerLine(edit.principal, edit.key));
      break;
    case 'remove-admin':
      if (!policy.admins.includes(edit.principal)) invalid(`${edit.principal} is not an admin`, `the admins are ${policy.admins.join(', ')}`);
      policy.admins = policy.admins.filter((a) => a !== edit.principal);
      if (policy.admins.length === 0) invalid('the last admin cannot be removed: nobody could change the trust root again', 'add another admin first');
      break;
    case 'add-rule':
      policy.rules = [...(policy.rules ?? []), edit.rule];
      break;
    case 'remove-rule': {
      const rules = policy.rules ?? [];
      if (!Number.isInteger(edit.index) || edit.index < 1 || edit.index > rules.length) invalid(`there is no rule ${edit.index} (version ${prev.version} has ${rules.length})`, 'name a rule by the number "gitbus trust list" shows');
      policy.rules = rules.filter((_, i) => i !== edit.index - 1);
      if (policy.rules.length === 0) delete policy.rules;
      break;
    }
    case 'threshold':
      if (edit.threshold === (prev.policy.threshold ?? 1)) invalid(`the threshold is already ${edit.threshold}`, 'nothing to do');
      if (edit.threshold === 1) delete policy.threshold;
      else policy.threshold = edit.threshold;
      break;
    case 'add-node': {
      const principal = nodePrincipal(edit.node);
      const line = nodeSignerLine(edit.node, edit.key);
      const others = otherHolders(prev, edit.key, principal);
      if (others) invalid(`the key ${edit.key.fingerprint} is already listed for ${others.principals.join(', ')} (line ${others.line}); a node's key is its own`, `give node ${edit.node} its own key: gitbus makes one when the node joins a bus with a trust root (<home>/keys/node_ed25519.pub)`);
      const own = prev.signers.entries.filter((e) => e.principals.includes(principal));
      const rawLine = (n: number) => prev.allowedSigners.split('\n')[n - 1]?.trim();
      if (own.length === 1 && own[0] && rawLine(own[0].line) === line) invalid(`node ${edit.node} already has the key ${edit.key.fingerprint} in version ${prev.version}`, 'nothing to do');
      allowedSigners = replacingPrincipal(allowedSigners, principal, line);
      break;
    }
    case 'remove-node': {
      const r = withoutPrincipal(allowedSigners, nodePrincipal(edit.node));
      if (!r.changed) invalid(`node ${edit.node} has no key in version ${prev.version}`, 'see the listed node keys with "gitbus trust list"');
      allowedSigners = r.text;
      break;
    }
    case 'unlisted-nodes':
      if ((prev.policy.unlistedNodes ?? 'accept') === edit.value) invalid(`unlistedNodes is already ${edit.value} in version ${prev.version}`, 'nothing to do');
      policy.unlistedNodes = edit.value;
      break;
    case 'settings': {
      const before = prev.policy.settings;
      const changed = TRUSTED_SETTING_KEYS.filter((k) => edit.settings[k] !== undefined && edit.settings[k] !== before?.[k]);
      if (changed.length === 0) invalid(`trust version ${prev.version} already says ${settingsText(edit.settings)}`, 'nothing to do; if gitbus.yaml says otherwise, set it there with git');
      policy.settings = mergedTrustSettings(before, edit.settings);
      break;
    }
    case 'max-handoff-age':
      if ((prev.policy.maxHandoffAge ?? null) === edit.value) invalid(edit.value === null ? `trust version ${prev.version} sets no maxHandoffAge` : `maxHandoffAge is already ${edit.value} in version ${prev.version}`, 'nothing to do');
      if (edit.value === null) delete policy.maxHandoffAge;
      else policy.maxHandoffAge = edit.value;
      break;
  }
  return { version: prev.version + 1, allowedSigners, policy };
}

export interface FirstVersionNodes {
  /** Nodes listed from the start: the node that runs `trust init`, with its own key. */
  nodes?: { node: string; key: PublicKey }[];
  unlistedNodes?: UnlistedNodes;
}

/**
 * Version 1: the admins with their keys, a threshold, one rule letting the admins run anything anywhere, the
 * nodes listed from the start with the policy for the others, the bus settings it fixes (gitbus.yaml's at init),
 * and a maxHandoffAge, written out so that a new root bounds replays and shows it does.
 */
export function firstVersion(admins: { principal: string; key: PublicKey }[], threshold?: number, nodes: FirstVersionNodes = {}, settings?: TrustSettings): VersionContent {
  const principals = [...new Set(admins.map((a) => a.principal))];
  for (const n of nodes.nodes ?? []) {
    const admin = admins.find((a) => a.key.fingerprint === n.key.fingerprint);
    if (admin) invalid(`node ${n.node}'s key ${n.key.fingerprint} is also ${admin.principal}'s admin key; a node's key is its own`, 'sign as an admin with a key of your own (--key), not the node key <home>/keys/node_ed25519');
  }
  const policy: TrustPolicy = {
    version: 1,
    admins: principals,
    ...(threshold && threshold > 1 ? { threshold } : {}),
    rules: [{ signers: principals, runners: ['*'], nodes: ['*'] }],
    ...(nodes.unlistedNodes ? { unlistedNodes: nodes.unlistedNodes } : {}),
    ...(settings ? { settings } : {}),
    maxHandoffAge: DEFAULT_MAX_HANDOFF_AGE,
  };
  const lines = [...admins.map((a) => signerLine(a.principal, a.key)), ...(nodes.nodes ?? []).map((n) => nodeSignerLine(n.node, n.key))];
  return { version: 1, allowedSigners: lines.map((l) => `${l}\n`).join(''), policy };
}

/** The files of a version and its link, ready to commit; checked as a node would read them. */
export function renderVersion(content: VersionContent, previous: string | undefined, prev?: TrustVersion): { allowedSigners: string; policy: string; link: string; version: TrustVersion } {
  const policy = renderPolicy(content.policy);
  const parsed = parseVersion(content.version, Buffer.from(content.allowedSigners, 'utf8'), Buffer.from(policy, 'utf8'));
  if (!parsed.ok) {
    const p = parsed.problems[0];
    invalid(p ? `${p.field ? `${p.field}: ` : ''}${p.reason}` : 'the new version does not parse', p?.fix ?? 'change it differently');
  }
  // Only a sharing this change makes: a version written before gitbus refused it must still take the change that
  // mends it (a signer's own key for one of the admins), and every other (each key counts once meanwhile: chain.ts).
  const before = new Set((prev ? sharedAdminKeys(prev) : []).flatMap((k) => k.principals.map((p) => `${k.fingerprint} ${p}`)));
  const shared = sharedAdminKeys(parsed.value).find((k) => k.principals.some((p) => !before.has(`${k.fingerprint} ${p}`)));
  if (shared) {
    invalid(
      `the key ${shared.fingerprint} would be listed for admins ${shared.principals.join(' and ')}: one key counts for one admin, so it would sign for one of them only`,
      'give each admin a key of their own (ssh-keygen -t ed25519 -f FILE); one person with two keys is one admin with both listed under one name',
    );
  }
  const digest = contentDigest(Buffer.from(content.allowedSigners, 'utf8'), Buffer.from(policy, 'utf8'));
  const link = `# gitbus trust chain link; see docs/PROTOCOL.md §12. Admins of the previous version sign this file.\n${renderYaml({ version: content.version, digest, ...(previous ? { previous } : {}) })}`;
  return { allowedSigners: content.allowedSigners, policy, link, version: parsed.value };
}
