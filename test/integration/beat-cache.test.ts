import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openBus, type BusContext } from '../../bus/context.js';
import { loadBeatCache, saveBeatCache, type CachedBeat } from '../../bus/ops/beat-cache.js';
import { publishHeartbeat } from '../../bus/ops/heartbeat.js';
import { busStatus } from '../../bus/ops/status.js';
import { heartbeatRef } from '../../bus/model/liveness.js';
import { makeBus } from '../helpers/bus.js';
import { tempDir } from '../helpers/cli.js';
import { startGitHttpServer } from '../helpers/git-http-server.js';
import { initNode, joinNode } from '../helpers/in-process.js';

/**
 * Status reads each heartbeat commit once on a node (bus/ops/beat-cache.ts, issue 14): on a bus of many live nodes
 * it read and parsed every node's heartbeat at every run.
 */
describe('heartbeats read once', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let alpha: BusContext;
  const beat = async (node: string) => {
    const ctx = await openBus(bus.home(node));
    try {
      await publishHeartbeat(ctx, [], { everyMs: 30_000 });
      return (await ctx.repo.transport.listRefs()).get(heartbeatRef(node)) as string;
    } finally {
      await ctx.repo.close();
    }
  };
  const liveness = async () => Object.fromEntries((await busStatus(alpha)).nodes.map((n) => [n.node, n.liveness]));

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    await bus.addNode('beta');
    await bus.addNode('gamma');
    alpha = await openBus(bus.home('alpha'));
  });
  afterAll(async () => {
    await alpha?.repo.close();
    await bus?.cleanup();
  });

  it('an unchanged heartbeat is taken from the cache, a new one from its commit, and the file keeps only the current ones', async () => {
    const betaFirst = await beat('beta');
    const gammaFirst = await beat('gamma');
    expect(await liveness()).toMatchObject({ beta: 'alive', gamma: 'alive' });
    const cached = loadBeatCache(alpha.repo.gitdir);
    expect([...cached.keys()].sort()).toEqual([betaFirst, gammaFirst].sort());
    expect(cached.get(betaFirst)).toMatchObject({ beat: { stopped: false, everyMs: 30_000 } });

    // What the cache says of beta's heartbeat is what status shows: it read no commit for it.
    const entry = cached.get(betaFirst) as Extract<CachedBeat, { beat: unknown }>;
    saveBeatCache(alpha.repo.gitdir, new Map([...cached, [betaFirst, { beat: { ...entry.beat, stopped: true } }]]));
    expect(await liveness()).toMatchObject({ beta: 'stopped', gamma: 'alive' });

    // beta beats again: its new heartbeat is read from the commit, and the old one leaves the file.
    const betaSecond = await beat('beta');
    expect(betaSecond).not.toBe(betaFirst);
    expect(await liveness()).toMatchObject({ beta: 'alive', gamma: 'alive' });
    expect([...loadBeatCache(alpha.repo.gitdir).keys()].sort()).toEqual([betaSecond, gammaFirst].sort());
  });

  it('a damaged or foreign cache file costs only a reading: status is right and writes it anew', async () => {
    const file = join(alpha.repo.gitdir, 'gitbus-cache', 'beats.cache');
    expect(existsSync(file)).toBe(true);
    writeFileSync(file, 'gitbus-beats\n{"format":1,"build":"another","bytes":2,"checksum":"00000000"}\n[]');
    expect(await liveness()).toMatchObject({ beta: 'alive', gamma: 'alive' });
    expect(loadBeatCache(alpha.repo.gitdir).size).toBe(2);
    writeFileSync(file, Buffer.from([0xff, 0x00, 0x41]));
    expect(await liveness()).toMatchObject({ beta: 'alive', gamma: 'alive' });
    expect(loadBeatCache(alpha.repo.gitdir).size).toBe(2);
  });
});

describe('heartbeats that are new to a node, over a git host', () => {
  it('are fetched in one exchange, not one each', async () => {
    const dir = await tempDir('gitbus-beat-batch-');
    const remote = join(dir.path, 'srv', 'bus.git');
    const home = (n: string) => join(dir.path, `home-${n}`);
    await initNode(home('boss'), remote, { node: 'boss' });
    const server = await startGitHttpServer({ projectRoot: dirname(remote) });
    try {
      const others = ['beta', 'gamma', 'delta'];
      for (const n of others) await joinNode(home(n), remote, { node: n });
      await joinNode(home('alpha'), `${server.url}/bus.git`, { node: 'alpha' });
      const beatAll = async () => {
        for (const n of others) {
          const ctx = await openBus(home(n));
          await publishHeartbeat(ctx, [], { everyMs: 30_000 }).finally(() => ctx.repo.close());
        }
      };
      const alpha = await openBus(home('alpha'));
      try {
        await beatAll();
        await busStatus(alpha);
        // Every node beats again; main stays where it was, so what status fetches now is the three heartbeats.
        await beatAll();
        const from = server.requests.length;
        const status = await busStatus(alpha);
        expect(Object.fromEntries(status.nodes.filter((n) => others.includes(n.node)).map((n) => [n.node, n.liveness]))).toEqual({ beta: 'alive', gamma: 'alive', delta: 'alive' });
        const fetches = server.requests.slice(from).filter((r) => r.method === 'POST' && r.path.endsWith('/git-upload-pack'));
        expect(fetches).toHaveLength(1);
      } finally {
        await alpha.repo.close();
      }
    } finally {
      await server.close();
      await dir.cleanup();
    }
  });
});
