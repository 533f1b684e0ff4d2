import { homedir } from './user-home-dir.js';
import type { Handoff } from '../schemas/handoff.js';
import type { CardPolicy } from '../schemas/node-card.js';
import type { NodeConfig } from './home.js';
import { CARD_LIST_MAX, CARD_LIST_PUBLISHED, nodePolicyVerdict, reposEntryMatches, type NodePolicy, type PolicyFacts, type PolicyVerdict, type Signer } from './model/node-policy.js';
import { nodeRemoteUrl, publishableRepo } from './project/remote-url.js';

export { CARD_LIST_MAX, CARD_LIST_PUBLISHED };

/**
 * Who signed a task, once its signature verified; null when none did. The trust work (signed handoffs) plugs its
 * verification in here; until then every task counts as unsigned, so a policy that names `signers` refuses all.
 */
export type SignerOf = (handoff: Handoff, id: string) => Signer | null;

export const NO_VERIFIED_SIGNER: SignerOf = () => null;

/** This node's judge of a task (id, handoff) by its node.yaml policy and projectsOnly; undefined when it has neither. */
export type PolicyJudge = (handoff: Handoff, id: string) => PolicyVerdict;

export function policyJudge(home: string, config: NodeConfig, signerOf: SignerOf = NO_VERIFIED_SIGNER): PolicyJudge | undefined {
  if (!judgesTasks(config)) return undefined;
  const facts = policyFacts(home, config);
  const policy: NodePolicy = { ...config.policy, ...(config.projectsOnly ? { projectsOnly: projectsOnlyList(facts.projects ?? {}) } : {}) };
  return (h, id) => nodePolicyVerdict(policy, h, policy.signers ? { ...facts, signer: signerOf(h, id) } : facts);
}

/**
 * Whether this node turns tasks down before claiming them: it has a `policy:`, or `projectsOnly: true`, which is
 * judged with the policy so that a project task for a repo it does not list stays on the bus for a node that does.
 */
export function judgesTasks(config: Pick<NodeConfig, 'policy' | 'projectsOnly'>): boolean {
  return config.policy !== undefined || config.projectsOnly === true;
}

/** A projectsOnly list (bus/model/node-policy.ts NodePolicy): each project's name, and its URL. Pure. */
function projectsOnlyList(projects: Readonly<Record<string, string>>): string[] {
  return [...new Set(Object.entries(projects).flatMap(([name, url]) => [name, url]))];
}

/** A repo list this node's card leaves out, being longer than CARD_LIST_PUBLISHED: what the node says of it (cardListsLeftOut). */
export interface CardListLeftOut {
  field: 'policy.repos' | 'projectsOnly';
  /** How many entries the whole list has. */
  count: number;
}

/** The projects' names and URLs as a handoff records them (no password; over http(s) no user name). */
function publishedProjectsOnly(home: string, config: NodeConfig): string[] {
  const projects = Object.fromEntries(Object.entries(policyFacts(home, config).projects ?? {}).map(([name, url]) => [name, publishableRepo(url).repo]));
  return projectsOnlyList(projects);
}

/**
 * The card's `projectsOnly`: with node.yaml `projectsOnly: true`, the projects' names and URLs as a handoff records
 * them, so that `dispatch --to` judges a repo as the node will. Undefined without projectsOnly, and when the list
 * would not fit (CARD_LIST_PUBLISHED).
 */
export function cardProjectsOnly(home: string, config: NodeConfig): string[] | undefined {
  if (!config.projectsOnly) return undefined;
  const list = publishedProjectsOnly(home, config);
  return list.length <= CARD_LIST_PUBLISHED ? list : undefined;
}

/**
 * The card's `policy.repos` whole: node.yaml's patterns plus the URL of every project they admit by name, as a
 * handoff records it (the card is public, and dispatchers judge their handoffs' repo against it), so that a
 * dispatcher who gives the URL is judged as the node would judge it. Undefined without `policy.repos`.
 */
function publishedRepos(home: string, config: NodeConfig): string[] | undefined {
  const repos = config.policy?.repos;
  if (!repos) return undefined;
  const urls = Object.entries(policyFacts(home, config).projects ?? {})
    .filter(([name, url]) => repos.some((g) => reposEntryMatches(g, name) || reposEntryMatches(g, url)))
    .map(([, url]) => publishableRepo(url).repo);
  return [...new Set([...repos, ...urls])];
}

/**
 * The repo lists this node's card leaves out for being longer than a card lists, each with its length: the node
 * says so (the watcher at its start), since a dispatcher then checks no repo against them and only the node judges.
 */
export function cardListsLeftOut(home: string, config: NodeConfig): CardListLeftOut[] {
  const out: CardListLeftOut[] = [];
  const repos = publishedRepos(home, config);
  if (repos && repos.length > CARD_LIST_PUBLISHED) out.push({ field: 'policy.repos', count: repos.length });
  if (config.projectsOnly) {
    const list = publishedProjectsOnly(home, config);
    if (list.length > CARD_LIST_PUBLISHED) out.push({ field: 'projectsOnly', count: list.length });
  }
  return out;
}

/** What the verdict knows of this node: its named work roots and its projects' URLs as git here reaches them. */
export function policyFacts(home: string, config: NodeConfig): PolicyFacts {
  const projects: Record<string, string> = {};
  for (const [name, p] of Object.entries(config.projects ?? {})) projects[name] = nodeRemoteUrl(p.url, home, homedir());
  return { node: config.node, rootNames: Object.keys(config.workRoots ?? {}), projects };
}

/**
 * The policy as the node card publishes it (schemas/node-card.ts): its repos (publishedRepos) when they fit
 * (CARD_LIST_PUBLISHED), no command patterns. Undefined without a policy.
 */
export function cardPolicy(home: string, config: NodeConfig): CardPolicy | undefined {
  const p = config.policy;
  if (!p) return undefined;
  const out: CardPolicy = {};
  if (p.signers) out.signers = p.signers;
  const repos = publishedRepos(home, config);
  if (repos && repos.length <= CARD_LIST_PUBLISHED) out.repos = repos;
  if (p.workRoots) out.workRoots = p.workRoots;
  if (p.commands) out.commands = true;
  if (p.maxTimeout) out.maxTimeout = p.maxTimeout;
  if (p.maxBudgetUsd !== undefined) out.maxBudgetUsd = p.maxBudgetUsd;
  return out;
}

/** The runners a node offers on its card: those it enables and its policy allows, `manual` always. Pure. */
export function offeredRunners(config: Pick<NodeConfig, 'runners' | 'policy'>): NodeConfig['runners'] {
  const allowed = config.policy?.runners;
  return ['manual', ...config.runners.filter((r) => r !== 'manual' && (!allowed || allowed.includes(r)))];
}
