import { cpus, hostname, platform, arch, totalmem } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { GITBUS_VERSION } from './version.js';
import type { NodeCard } from '../schemas/node-card.js';
import type { NodeConfig } from './home.js';
import { cardPolicy, cardProjectsOnly, offeredRunners } from './node-policy.js';
import { readKeyFile } from './trust/key-file.js';
import { nodeKeyPaths } from './trust/node-key.js';
import { loadPin, type TrustPin } from './trust/pin.js';

export { GITBUS_VERSION } from './version.js';

/**
 * The public half of the node's key, when it has one (made at join or pin on a bus with a trust root, never just
 * for the card). Read from the private key, whose header carries it, so the card never offers a key the node
 * cannot sign with; a damaged key file offers none (`gitbus doctor` reports it).
 */
export function publishedNodeKey(home: string): string | undefined {
  const { privatePath } = nodeKeyPaths(home);
  if (!existsSync(privatePath)) return undefined;
  try {
    return readKeyFile(readFileSync(privatePath, 'utf8'), privatePath).key.line;
  } catch {
    return undefined;
  }
}

/**
 * The trust root version this node pinned (`<home>/trust-pin.json`), as its card says it (docs/PROTOCOL.md §12,
 * "Pinning"): so that every node can tell which nodes enforce the bus's root. A pin file that cannot be read says
 * nothing (every command of the node reports it).
 */
export function publishedTrustPin(home: string, pin?: TrustPin): NodeCard['trustPin'] {
  try {
    const p = pin ?? loadPin(home);
    return p ? { version: p.pinned.version, digest: p.pinned.digest } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The node card this node publishes: what others need to know to address work to it. `home` resolves the
 * relative project URLs its policy summary names, and holds the node's key the card offers and its trust pin
 * (`pin`: one not saved yet, at join).
 */
export function nodeCard(config: NodeConfig, joined: string, now: Date, home?: string, pin?: TrustPin): NodeCard {
  const policy = cardPolicy(home ?? '/', config);
  const projectsOnly = cardProjectsOnly(home ?? '/', config);
  const key = home === undefined ? undefined : publishedNodeKey(home);
  const trustPin = home === undefined ? undefined : publishedTrustPin(home, pin);
  return {
    node: config.node,
    labels: config.labels,
    runners: offeredRunners(config),
    parallel: config.parallel,
    ...(policy ? { policy } : {}),
    ...(projectsOnly ? { projectsOnly } : {}),
    version: GITBUS_VERSION,
    host: { os: platform(), arch: arch(), cpus: cpus().length, memoryMb: Math.round(totalmem() / 2 ** 20), hostname: hostname() },
    ...(key ? { key } : {}),
    ...(trustPin ? { trustPin } : {}),
    joined,
    updated: now.toISOString(),
  };
}

/**
 * The config whose card leaves out `unavailable` runners (programs init or join found missing): node.yaml keeps
 * them, the card does not offer them until the watcher finds their programs.
 */
export function withoutRunners<C extends Pick<NodeConfig, 'runners'>>(config: C, unavailable: readonly string[] = []): C {
  return unavailable.length ? { ...config, runners: config.runners.filter((r) => !unavailable.includes(r)) } : config;
}

/** A node name from the host name: lower case, only the characters node names allow. */
export function defaultNodeName(): string {
  const cleaned = hostname().toLowerCase().split('.')[0]?.replace(/[^a-z0-9_-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 40) ?? '';
  return cleaned.length > 0 ? cleaned : 'node';
}
