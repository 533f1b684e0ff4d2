import { type Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import { type NodeCard } from '../../schemas/node-card.js';
import { CARD_LIST_MAX } from '../../schemas/field-limits.js';
import { COMMAND_RUNNERS, type RunnerName } from '../../schemas/field-limits.js';
import { formatDuration, tryParseDuration } from '../../schemas/duration.js';
import { globMatch } from './glob.js';
import { hasDotSegment, hasEscapedSeparator } from '../../schemas/project.js';
import { byteSpelling, decodedFileUrl, decodedPathSpelling, localFileUrlPath } from '../../schemas/file-url.js';
import { isProjectName, sameAllowedRemote, sameProjectRemote } from '../project/remote-url.js';

/**
 * A node's policy (node.yaml `policy:`, validated by bus/home.ts): what this machine accepts at most, whatever
 * the bus asks. A field left out does not limit.
 */
export interface NodePolicy {
  runners?: readonly RunnerName[];
  signers?: readonly string[];
  repos?: readonly string[];
  workRoots?: readonly string[];
  commands?: { allow?: readonly string[]; deny?: readonly string[] };
  maxTimeout?: string;
  maxBudgetUsd?: number;
  /**
   * node.yaml `projectsOnly: true` (outside `policy:`, judged with it): the only repos a project task may name, as
   * its project names and their URLs. Any repo when left out.
   */
  projectsOnly?: readonly string[];
}

/** Who signed a task, once its signature is verified (the trust work plugs the verification in). */
export interface Signer {
  principals: readonly string[];
  /** The key's fingerprint as ssh-keygen prints it: `SHA256:…`. */
  fingerprint: string;
}

/** What a verdict needs to know besides the policy and the task. A fact left undefined is not known here: its check is skipped. */
export interface PolicyFacts {
  /** The node whose policy it is, for the messages. */
  node: string;
  /** The node's named work roots (node.yaml `workRoots`); unknown when judging from a node card. */
  rootNames?: readonly string[];
  /** The node's projects, name → URL as git on the node reaches it; unknown when judging from a node card. */
  projects?: Readonly<Record<string, string>>;
  /** The task's verified signer; null: it has none that verifies; undefined: not known here. */
  signer?: Signer | null;
}

/** Limits applied to what runs: the node's `maxTimeout` for a task that gives none, `maxBudgetUsd` for a claude task that asks none. */
export interface PolicyCaps {
  timeoutMs?: number;
  budgetUsd?: number;
}

export interface PolicyRefusal {
  ok: false;
  /** The policy fields that refuse it (`policy.commands.allow`, …). */
  fields: string[];
  /** Each refusing field with the limit and what the task asks, `; `-separated. */
  reason: string;
  fix: string;
  /** Each refusing field on its own, for a caller that says which of the task's values each is about. */
  each: { field: string; reason: string; fix: string }[];
  /** A refusal nobody answers: the task is skipped even when addressed to this node (a trust verdict's `leaveAlone`). */
  leaveAlone?: true;
}

export type PolicyVerdict = { ok: true; caps: PolicyCaps } | PolicyRefusal;

export type PolicyTask = Pick<Handoff, 'runner' | 'command' | 'repo' | 'workdir' | 'timeout' | 'claude'>;

/**
 * Whether a node whose policy is `policy` accepts `task`, and with which caps. Pure. Every refusing field is
 * named with its limit. A `manual` task runs nothing on the node, so no policy refuses it.
 */
export function nodePolicyVerdict(policy: NodePolicy | undefined, task: PolicyTask, facts: PolicyFacts): PolicyVerdict {
  const runner = effectiveRunner(task);
  if (!policy || runner === 'manual') return { ok: true, caps: {} };
  const node = facts.node;
  const refusals: { field: string; reason: string; fix: string }[] = [];
  const refuse = (field: string, reason: string, fix: string) => refusals.push({ field, reason: `${field}: ${reason}`, fix });

  if (policy.runners && !policy.runners.includes(runner)) {
    refuse('policy.runners', `node ${node} runs ${list(policy.runners.filter((r) => r !== 'manual')) || 'no'} tasks at most, and this is a ${runner} task`, `dispatch it to a node that runs ${runner} tasks, or add ${runner} to policy.runners in ${node}'s node.yaml`);
  }

  if (policy.signers && facts.signer !== undefined) {
    const wanted = list(policy.signers) || 'nobody';
    const s = facts.signer;
    if (s === null) {
      refuse('policy.signers', `node ${node} runs only tasks signed by ${wanted}, and this task has no signature that verifies`, `sign the task with a key of one of them, or dispatch it to another node`);
    } else if (!policy.signers.some((entry) => signerMatches(entry, s))) {
      refuse('policy.signers', `the task is signed by ${list(s.principals) || 'a key with no principal'} (${s.fingerprint}), and node ${node} runs only tasks signed by ${wanted}`, `have one of them sign it, or add the signer to policy.signers in ${node}'s node.yaml`);
    }
  }

  if (policy.repos && task.repo !== undefined) {
    const names = repoNames(task.repo, facts.projects);
    // Judged from a node card, a project name means what only the node knows: the node decides.
    const decidable = facts.projects !== undefined || /[:/]/.test(task.repo);
    if (hasDotSegment(task.repo)) {
      // Globs match text: `/allowed/../other` matches `/allowed/**` and is not there. The schema refuses such a
      // repo; refused here too, whatever let it through.
      refuse('policy.repos', `node ${node} works only on ${list(policy.repos) || 'no project repositories'}, and the task's repo "${task.repo}" has a "." or ".." path part, which no pattern can judge`, 'write the repo without "." and ".." parts');
    } else if (hasEscapedSeparator(task.repo)) {
      refuse('policy.repos', `node ${node} works only on ${list(policy.repos) || 'no project repositories'}, and the task's repo "${task.repo}" has an escaped "/" or "\\" in its path (%2F, %5C), which git or the host may decode into parts no pattern can judge`, 'write the repo with plain "/"');
    } else if (decidable && !policy.repos.some((entry) => names.some((name) => reposEntryMatches(entry, name)))) {
      refuse('policy.repos', `node ${node} works only on ${list(policy.repos) || 'no project repositories'}, and the task's repo is "${task.repo}"`, `dispatch it to a node that works on that repository, or add a pattern for it to policy.repos in ${node}'s node.yaml`);
    }
  }

  if (policy.projectsOnly && task.repo !== undefined && !policy.projectsOnly.some((entry) => namesProject(entry, task.repo ?? ''))) {
    const names = policy.projectsOnly.filter(isProjectName);
    refuse('projectsOnly', `node ${node} takes project tasks only for the projects its node.yaml lists (${list(names) || 'none'}), and the task's repo is "${task.repo}"`, `dispatch it to a node that works on that repository, or add it under "projects" in ${node}'s node.yaml`);
  }

  if (policy.workRoots && task.repo === undefined && task.workdir !== undefined) {
    const first = task.workdir.split('/')[0] ?? '';
    // A workdir that names no root of the node runs under its default work root, which is always allowed.
    if (facts.rootNames?.includes(first) && !policy.workRoots.includes(first)) {
      refuse('policy.workRoots', `node ${node} lets tasks use ${policy.workRoots.length ? `the work root(s) ${list(policy.workRoots)} and ` : ''}its default work root, and workdir "${task.workdir}" is in its root "${first}"`, `use a workdir under an allowed root, or add "${first}" to policy.workRoots in ${node}'s node.yaml`);
    }
  }

  if (policy.commands && COMMAND_RUNNERS.includes(runner) && task.command !== undefined) {
    const cmd = task.command;
    const denied = (policy.commands.deny ?? []).find((p) => regexOf(p, false)?.test(cmd) ?? true);
    if (denied !== undefined) {
      refuse('policy.commands.deny', `the command ${shown(cmd)} contains what /${denied}/ forbids on node ${node}`, `change the command, or dispatch it to another node`);
    }
    const allow = policy.commands.allow;
    // A trailing newline (a YAML block scalar leaves one) changes nothing `sh -c` runs.
    const whole = cmd.replace(/\n+$/, '');
    if (allow && !allow.some((p) => regexOf(p, true)?.test(whole) ?? false)) {
      refuse('policy.commands.allow', `the command ${shown(cmd)} matches none of the patterns node ${node} allows (${allow.length ? allow.map((p) => `/^(?:${p})$/`).join(', ') : 'none'})`, `write the command so that one pattern matches it whole, or dispatch it to another node`);
    }
  }

  const caps: PolicyCaps = {};
  const maxMs = policy.maxTimeout === undefined ? undefined : tryParseDuration(policy.maxTimeout);
  if (maxMs !== undefined && policy.maxTimeout !== undefined) {
    const asked = task.timeout === undefined ? undefined : tryParseDuration(task.timeout);
    if (asked === undefined) caps.timeoutMs = maxMs;
    else if (asked > maxMs) refuse('policy.maxTimeout', `the task's timeout ${task.timeout} is longer than node ${node}'s limit of ${formatDuration(maxMs)}`, `give it a timeout of ${formatDuration(maxMs)} or less, with dispatch --timeout or the timeout field of a handoff or a --from line`);
  }

  if (policy.maxBudgetUsd !== undefined && runner === 'claude') {
    const asked = task.claude?.maxBudgetUsd;
    if (asked === undefined) caps.budgetUsd = policy.maxBudgetUsd;
    else if (asked > policy.maxBudgetUsd) refuse('policy.maxBudgetUsd', `the task asks for a budget of $${asked}, more than node ${node}'s limit of $${policy.maxBudgetUsd}`, `give it a budget of ${policy.maxBudgetUsd} or less, with dispatch --max-budget-usd or the claude.maxBudgetUsd field of a handoff or a --from line`);
  }

  if (refusals.length === 0) return { ok: true, caps };
  return { ok: false, fields: refusals.map((r) => r.field), reason: refusals.map((r) => r.reason).join('; '), fix: [...new Set(refusals.map((r) => r.fix))].join('; '), each: refusals };
}

export { CARD_LIST_MAX };

/**
 * The most entries a node publishes in one of those lists: one fewer than a card may hold, since a reader takes a
 * `policy.repos` of exactly CARD_LIST_MAX as one an earlier build cut (policyOfCard) and ignores it.
 */
export const CARD_LIST_PUBLISHED = CARD_LIST_MAX - 1;

/**
 * A card's policy as the verdict reads it: the runners are the card's own list, the commands unknown, and its
 * `projectsOnly` (a top-level field, which a card of an older gitbus does not have) limits repos. Undefined when the
 * card says neither. Pure.
 */
export function policyOfCard(card: Pick<NodeCard, 'policy' | 'projectsOnly'>): NodePolicy | undefined {
  if (!card.policy && !card.projectsOnly) return undefined;
  const { commands: _commands, repos, ...rest } = card.policy ?? {};
  // Earlier builds cut a longer `policy.repos` to its first 300 without a word: a list that long may be missing
  // repos the node takes, so it limits nothing here, as a list left out does not. A `projectsOnly` that long no
  // writer publishes (CARD_LIST_PUBLISHED): read by the same rule, so that readers and writers agree on one bound.
  const whole = repos !== undefined && repos.length < CARD_LIST_MAX ? { repos } : {};
  const only = card.projectsOnly !== undefined && card.projectsOnly.length < CARD_LIST_MAX ? { projectsOnly: card.projectsOnly } : {};
  return { ...rest, ...whole, ...only };
}

/**
 * Why node `node`'s card says its policy refuses `task`, or null when it does not (or says nothing). The one judge
 * of a task by another node's card, for `dispatch --to`, the claim ranking and `status`'s noTaker alike: the
 * verdict the node itself reaches before its claim (nodePolicyVerdict), with what only the node knows (its work
 * roots, its command patterns, a task's signer, what a bare project name means there) left for it to decide, so
 * that what a card refuses the node refuses too. Pure.
 */
export function cardRefusal(card: Pick<NodeCard, 'policy' | 'projectsOnly'>, task: PolicyTask, node: string): PolicyRefusal | null {
  const verdict = nodePolicyVerdict(policyOfCard(card), task, { node });
  return verdict.ok ? null : verdict;
}

/** A `signers` entry: a key fingerprint (`SHA256:…`, exact) or a principal (a glob, `*@example.com`). Pure. */
export function signerMatches(entry: string, s: Signer): boolean {
  if (/^[A-Z0-9]+:/.test(entry) && !entry.includes('@')) return entry === s.fingerprint;
  return s.principals.some((p) => globMatch(entry, p));
}

/**
 * The names a task's `repo` goes by on the node, for policy.repos: as written, and the name and URL of the node.yaml
 * project it means. A URL means a project as the allow-list compares (sameAllowedRemote, SSH user names as
 * written), not as the worktree code finds one (sameProjectRemote): a node's card lists the project's URL, and a
 * dispatcher reading it has no projects to map a repo through, so a laxer mapping here would make the node take
 * what its card refuses.
 */
function repoNames(repo: string, projects: Readonly<Record<string, string>> | undefined): string[] {
  const out = [repo];
  for (const [name, url] of Object.entries(projects ?? {})) {
    // Compared without a password or an http(s) user name: dispatch leaves them out of the handoff.
    if (name === repo || sameAllowedRemote(url, repo)) out.push(name, url);
  }
  return out;
}

/**
 * Whether a handoff's `repo` means the project `entry` of a projectsOnly list: a project name is that name exactly,
 * a URL is that remote however the repo spells it (bus/project/remote-url.ts sameProjectRemote) — the two ways the
 * node's worktree code finds a node.yaml project (watcher/workspace/project-config.ts resolveProject). Pure.
 */
export function namesProject(entry: string, repo: string): boolean {
  return isProjectName(entry) ? entry === repo : sameProjectRemote(entry, repo);
}

/**
 * Whether a `policy.repos` entry admits `name` (a task's repo, or a project name or URL it means on the node): a
 * pattern with glob characters matches as text, a trailing slash and `.git` aside, a path on this machine as the
 * path git opens, `file://` or not (globSpelling); an entry without any is a project
 * name or a remote, compared as an allow-list must (sameAllowedRemote: `file://` or a path, repeated slashes, a
 * password and an http(s) user name, `.git` aside; an SSH user name as written, since `~` is per user). The one
 * comparison for the node judging by its
 * node.yaml and for readers of its card (cardRefusal), and for the URLs the card publishes (bus/node-policy.ts), so
 * that a card never refuses a spelling its node takes. Pure.
 */
export function reposEntryMatches(entry: string, name: string): boolean {
  if (!/[*?]/.test(entry)) return entry === name || sameAllowedRemote(entry, name);
  const pattern = globSpelling(entry);
  const spelled = globSpelling(name);
  return globMatch(pattern, spelled) || globMatch(normalRemote(pattern), normalRemote(spelled));
}

/**
 * A pattern or a repo as a glob judges it. A path on this machine, `file://` or not, is the path git opens, in the
 * one spelling of schemas/file-url.ts: a `file://` URL's escapes decoded (`x%2Fy` is two parts to git, and one as
 * text, so `*` would cross a "/"), a path's `%` as written; so `/srv/a/*` and `file:///srv/a/*` each admit both
 * spellings of one repository. A pattern's escaped "*" or "?" stays a literal character, not a wildcard. Pure.
 */
function globSpelling(text: string): string {
  const fileUrlPath = localFileUrlPath(text);
  if (fileUrlPath !== null) return decodedPathSpelling(fileUrlPath, '*?');
  // Buffer.from, not a TextEncoder: the same UTF-8 bytes, and making a TextEncoder when this module loaded was ~3 ms
  // of every short command's start (issue 14, docs/PERFORMANCE.md "A dispatch without zod or yaml").
  if (text.startsWith('/')) return byteSpelling(Buffer.from(text, 'utf8'));
  return decodedFileUrl(text, '*?');
}

/** Two spellings of one remote compare equal: trailing slashes and `.git` do not matter. */
function normalRemote(url: string): string {
  return url.replace(/\/+$/, '').replace(/\.git$/, '');
}

const compiled = new Map<string, RegExp | null>();

/** A policy pattern as a RegExp (anchored for `allow`: the whole command must match); null if it does not compile. */
function regexOf(source: string, anchored: boolean): RegExp | null {
  const key = `${anchored ? 'a' : 'd'}${source}`;
  let re = compiled.get(key);
  if (re === undefined) {
    try {
      re = new RegExp(anchored ? `^(?:${source})$` : source);
    } catch {
      // node.yaml's schema refuses these; a deny that cannot be read refuses (above), an allow allows nothing.
      re = null;
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(key, re);
  }
  return re;
}

/** A command for a message: its first line, cut at 100 characters, quoted. */
function shown(command: string): string {
  const lines = command.split('\n');
  const first = lines[0] ?? '';
  const cut = first.length > 100 ? `${first.slice(0, 100)}…` : first;
  return `${JSON.stringify(cut)}${lines.length > 1 ? ` (and ${lines.length - 1} more line(s))` : ''}`;
}

function list(xs: readonly string[]): string {
  return xs.join(', ');
}
