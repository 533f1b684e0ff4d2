import { nodeCrypto } from '../../schemas/node-crypto.js';
import { MAX_TRUST_VERSION } from '../../schemas/trust-root.js';

/**
 * Where the trust root lives in the bus (docs/PROTOCOL.md §12), and the digest that names one version's content.
 *
 *   trust/allowed_signers              the newest complete version's signers: a copy, for people and ssh-keygen
 *   trust/policy.yaml                  the newest complete version's policy: a copy
 *   trust/chain/<n>.allowed_signers    version n's signers     } written once
 *   trust/chain/<n>.policy.yaml        version n's policy      }
 *   trust/chain/<n>.yaml               the link admins sign    }
 *   signatures/trust/chain/<n>.yaml.<key>.sig   one per admin who signed the link (the signature library's naming)
 *
 * Nodes read the chain only; the two copies are never trusted.
 */
export const TRUST_DIR = 'trust';
export const CHAIN_DIR = 'trust/chain';
export const ALLOWED_SIGNERS_COPY = 'trust/allowed_signers';
export const POLICY_COPY = 'trust/policy.yaml';

export type ChainFileKind = 'link' | 'allowedSigners' | 'policy';

const CHAIN_NAME_RE = /^([1-9][0-9]{0,8})\.(yaml|allowed_signers|policy\.yaml)$/;

function checkedVersion(version: number): number {
  if (!Number.isSafeInteger(version) || version < 1 || version > MAX_TRUST_VERSION) throw new RangeError(`${version} is not a trust version`);
  return version;
}

export function linkPath(version: number): string {
  return `${CHAIN_DIR}/${checkedVersion(version)}.yaml`;
}
export function allowedSignersPath(version: number): string {
  return `${CHAIN_DIR}/${checkedVersion(version)}.allowed_signers`;
}
export function policyPath(version: number): string {
  return `${CHAIN_DIR}/${checkedVersion(version)}.policy.yaml`;
}

/** What a name in trust/chain/ is, or undefined when it follows no naming rule. */
export function classifyChainName(name: string): { version: number; kind: ChainFileKind } | undefined {
  const m = CHAIN_NAME_RE.exec(name);
  if (!m) return undefined;
  const version = Number(m[1]);
  if (version > MAX_TRUST_VERSION) return undefined;
  const kind: ChainFileKind = m[2] === 'yaml' ? 'link' : m[2] === 'allowed_signers' ? 'allowedSigners' : 'policy';
  return { version, kind };
}

/**
 * The digest of one version: SHA-256 over both files, each framed by its name and byte length, so that no
 * byte can move from one file to the other without changing it.
 */
export function contentDigest(allowedSigners: Uint8Array, policy: Uint8Array): string {
  const h = nodeCrypto().createHash('sha256');
  h.update(`gitbus trust content v1\nallowed_signers ${allowedSigners.length}\n`);
  h.update(allowedSigners);
  h.update(`\npolicy.yaml ${policy.length}\n`);
  h.update(policy);
  return `sha256:${h.digest('hex')}`;
}
