import { describe, expect, it } from 'vitest';
import { nodeLiveness } from '../../bus/ops/node-liveness.js';
import type { Observation, Observations } from '../../bus/model/liveness.js';
import { resolveSettings } from '../../schemas/settings.js';

describe('how status and doctor show nodes (nodeLiveness)', () => {
  it('counts the fleet once per observations, not once per node shown: 20,000 heartbeat refs took status a minute', () => {
    const now = Date.now();
    const seen: Observation = { oid: 'a'.repeat(40), since: now, counted: now, after: null };
    let listings = 0;
    const nodes = new Proxy(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`n${i}`, seen])), {
      ownKeys(target) {
        listings++;
        return Reflect.ownKeys(target);
      },
    });
    const obs: Observations = { listedAt: now, nodes };
    const settings = resolveSettings({ protocol: 1 });
    const shown = Object.keys(nodes).map((n) => nodeLiveness(obs, n, { time: now, stopped: false, everyMs: 30_000 }, settings, true, now).liveness);
    expect(shown.every((l) => l === 'alive' || l === 'idle')).toBe(true);
    // One listing above to name them, one to count them.
    expect(listings).toBe(2);
  });
});
