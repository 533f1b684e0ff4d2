import { homedir } from './user-home-dir.js';
import type { Handoff } from '../schemas/handoff.js';
import type { CardPolicy, NodeCard } from '../schemas/node-card.js';
import type { NodeConfig } from './home.js';
import { globMatch } from './model/glob.js';
import { nodePolicyVerdict, type NodePolicy, type PolicyFacts, type PolicyVerdict, type Signer } from './model/node-policy.js';
import { nodeRemoteUrl, publishableRepo } from './project/remote-url.js';

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

/** At most this many entries in a card's `projectsOnly` (schemas/node-card.ts). */
const CARD_PROJECTS_MAX = 300;

/**
 * The card's `projectsOnly`: with node.yaml `projectsOnly: true`, the projects' names and URLs as a handoff records
 * them (no password; over http(s) no user name), so that `dispatch --to` judges a repo as the node will. Undefined
 * without projectsOnly, and when the list would not fit: a card that left some out would refuse what the node
 * takes, and without the field the node decides.
 */
export function cardProjectsOnly(home: string, config: NodeConfig): string[] | undefined {
  if (!config.projectsOnly) return undefined;
  const projects = Object.fromEntries(Object.entries(policyFacts(home, config).projects ?? {}).map(([name, url]) => [name, publishableRepo(url).repo]));
  const list = projectsOnlyList(projects);
  return list.length <= CARD_PROJECTS_MAX ? list : undefined;
}

/** What the verdict knows of this node: its named work roots and its projects' URLs as git here reaches them. */
export function policyFacts(home: string, config: NodeConfig): PolicyFacts {
  const projects: Record<string, string> = {};
  for (const [name, p] of Object.entries(config.projects ?? {})) projects[name] = nodeRemoteUrl(p.url, home, homedir());
  return { node: config.node, rootNames: Object.keys(config.workRoots ?? {}), projects };
}

/**
 * The policy as the node card publishes it (schemas/node-card.ts): its repo patterns plus the URL of every project
 * they admit by name, so that a dispatcher who gives the URL is judged as the node would judge it; no command
 * patterns. Undefined without a policy.
 */
export function cardPolicy(home: string, config: NodeConfig): CardPolicy | undefined {
  const p = config.policy;
  if (!p) return undefined;
  const out: CardPolicy = {};
  if (p.signers) out.signers = p.signers;
  if (p.repos) {
    const urls = Object.entries(policyFacts(home, config).projects ?? {})
      .filter(([name, url]) => p.repos?.some((g) => globMatch(g, name) || globMatch(g, url)))
      // As a handoff records it (no password; over http(s) no user name): the card is public, and dispatchers
      // judge their handoffs' repo against it.
      .map(([, url]) => publishableRepo(url).repo);
    out.repos = [...new Set([...p.repos, ...urls])].slice(0, 300);
  }
  if (p.workRoots) out.workRoots = p.workRoots;
  if (p.commands) out.commands = true;
  if (p.maxTimeout) out.maxTimeout = p.maxTimeout;
  if (p.maxBudgetUsd !== undefined) out.maxBudgetUsd = p.maxBudgetUsd;
  return out;
}

/**
 * A card's policy as the verdict reads it: the runners are the card's own list, the commands unknown, and its
 * `projectsOnly` (a top-level field, which a card of an older gitbus does not have) limits repos. Undefined when the
 * card says neither. Pure.
 */
export function policyOfCard(card: Pick<NodeCard, 'policy' | 'projectsOnly'>): NodePolicy | undefined {
  if (!card.policy && !card.projectsOnly) return undefined;
  const { commands: _commands, ...rest } = card.policy ?? {};
  return { ...rest, ...(card.projectsOnly ? { projectsOnly: card.projectsOnly } : {}) };
}

/** The runners a node offers on its card: those it enables and its policy allows, `manual` always. Pure. */
export function offeredRunners(config: Pick<NodeConfig, 'runners' | 'policy'>): NodeConfig['runners'] {
  const allowed = config.policy?.runners;
  return ['manual', ...config.runners.filter((r) => r !== 'manual' && (!allowed || allowed.includes(r)))];
}
