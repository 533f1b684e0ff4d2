import { cpus, hostname, platform, arch, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import type { NodeCard } from '../schemas/node-card.js';
import type { NodeConfig } from './home.js';
import { cardPolicy, offeredRunners } from './node-policy.js';

export const GITBUS_VERSION: string = readVersion();

function readVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    if (pkg && typeof pkg === 'object' && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // Running from an unusual layout: the version is informational only.
  }
  return '0.0.0';
}

/**
 * The node card this node publishes: what others need to know to address work to it. `home` resolves the
 * relative project URLs its policy summary names.
 */
export function nodeCard(config: NodeConfig, joined: string, now: Date, home = '/'): NodeCard {
  const policy = cardPolicy(home, config);
  return {
    node: config.node,
    labels: config.labels,
    runners: offeredRunners(config),
    parallel: config.parallel,
    ...(policy ? { policy } : {}),
    version: GITBUS_VERSION,
    host: { os: platform(), arch: arch(), cpus: cpus().length, memoryMb: Math.round(totalmem() / 2 ** 20), hostname: hostname() },
    joined,
    updated: now.toISOString(),
  };
}

/** A node name from the host name: lower case, only the characters node names allow. */
export function defaultNodeName(): string {
  const cleaned = hostname().toLowerCase().split('.')[0]?.replace(/[^a-z0-9_-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 40) ?? '';
  return cleaned.length > 0 ? cleaned : 'node';
}
