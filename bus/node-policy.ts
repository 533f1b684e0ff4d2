import { homedir } from './user-home-dir.js';
import type { Handoff } from '../schemas/handoff.js';
import type { CardPolicy } from '../schemas/node-card.js';
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

/** This node's judge of a task (id, handoff) by its node.yaml policy; undefined when it has none. */
export type PolicyJudge = (handoff: Handoff, id: string) => PolicyVerdict;

export function policyJudge(home: string, config: NodeConfig, signerOf: SignerOf = NO_VERIFIED_SIGNER): PolicyJudge | undefined {
  const policy = config.policy;
  if (!policy) return undefined;
  const facts = policyFacts(home, config);
  return (h, id) => nodePolicyVerdict(policy, h, policy.signers ? { ...facts, signer: signerOf(h, id) } : facts);
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

/** A card's policy as the verdict reads it: the runners are the card's own list, the commands unknown. Pure. */
export function policyOfCard(card: CardPolicy): NodePolicy {
  const { commands: _commands, ...rest } = card;
  return rest;
}

/** The runners a node offers on its card: those it enables and its policy allows, `manual` always. Pure. */
export function offeredRunners(config: Pick<NodeConfig, 'runners' | 'policy'>): NodeConfig['runners'] {
  const allowed = config.policy?.runners;
  return ['manual', ...config.runners.filter((r) => r !== 'manual' && (!allowed || allowed.includes(r)))];
}
