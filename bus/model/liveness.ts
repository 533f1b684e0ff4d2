/**
 * Liveness by the observer's own clock (docs/PROTOCOL.md §5a). A node proves it is alive by moving its
 * heartbeat ref; an observer records when it first saw each value. A node whose ref has not moved for longer
 * than the lease, by the observer's clock, is silent — however wrong the node's own clock may be. Pure.
 */
export interface Observation {
  /** The heartbeat ref's value when last seen. */
  oid: string;
  /** When (observer's clock, ms since the epoch) that value was first seen. */
  since: number;
}

export type Observations = Record<string, Observation>;

export const HEARTBEAT_PREFIX = 'refs/gitbus/heartbeats/';

export function heartbeatRef(node: string): string {
  return `${HEARTBEAT_PREFIX}${node}`;
}

/** Folds the remote's current refs into what this observer has seen. */
export function observe(prev: Observations, refs: ReadonlyMap<string, string>, now: number): Observations {
  const next: Observations = {};
  for (const [ref, oid] of refs) {
    if (!ref.startsWith(HEARTBEAT_PREFIX)) continue;
    const node = ref.slice(HEARTBEAT_PREFIX.length);
    const seen = prev[node];
    next[node] = seen && seen.oid === oid ? seen : { oid, since: now };
  }
  return next;
}

export type Liveness = 'alive' | 'silent' | 'unleased';

/**
 * `unleased`: the node never published a heartbeat (a person claiming by hand), so its claims hold until it
 * releases them or they are cancelled. `silent`: its heartbeat has not moved for longer than the lease.
 */
export function livenessOf(obs: Observations, node: string, leaseMs: number, now: number): Liveness {
  const o = obs[node];
  if (!o) return 'unleased';
  return now - o.since > leaseMs ? 'silent' : 'alive';
}
