import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { now, task, trustFleet, type FleetBus } from '../helpers/trust-fleet.js';

/**
 * Files in a node's name across its life, under trust: a node that worked before it pinned the root signs what it
 * wrote then (at its watcher's start, or at the next wake of a running one) and nothing planted in its name since;
 * a freshly joined node signs nothing planted in its name; on a bus that refuses unlisted nodes, an unlisted node
 * claims nothing; a node that leaves takes its card and signature with it. The fleet (test/helpers/trust-fleet.ts):
 * admin alice, node w pinned to her root and listed in it (its signed card stays when x leaves); the nodes under
 * test join in the tests.
 */
const fleet = trustFleet(['w']);
const { children, fp, nodeKey, admin, status, dispatch, push } = fleet;
let bus: FleetBus;

beforeAll(async () => {
  ({ bus } = await fleet.setUp());
}, 60_000);

afterAll(fleet.tearDown);

describe('files in the name of a node that pins late, joins, is unlisted or leaves', () => {
  it('files a node wrote before it signed are signed once when its watcher starts, and then count', async () => {
    const y = await bus.addNode('y', [], ['--runner', 'shell', '--trust', fp('alice')]);
    // Pinned at join, y has nothing to sign later; made a node of the fleet before the migration to signed work.
    expect(existsSync(join(y, 'keys', 'own-files-signed.json'))).toBe(true);
    rmSync(join(y, 'trust-pin.json'));
    rmSync(join(y, 'keys', 'own-files-signed.json'));
    const id = await dispatch('for-y', 'true', 'y');
    const c = await gitbus(['claim', id, '--json'], { home: y });
    expect(c.code, c.stderr).toBe(0);
    expect(existsSync(join(y, 'keys', 'own-files-signed.json'))).toBe(false);
    const pinned = await gitbus(['trust', 'pin', '--trust', fp('alice'), '--json'], { home: y });
    expect(pinned.code, pinned.stderr).toBe(0);
    await admin(['trust', 'add', 'node', 'y', nodeKey(y)]);
    // Listed now, its unsigned claim reads as forged...
    expect((await status()).forged.find((x) => x.path === `claims/${id}.1.md`)?.reason).toMatch(/it is not signed/);
    // ...until its watcher starts and signs what it wrote before (then it goes on as usual).
    const once = startWatcher(y, ['--once'], children);
    await until('y to sign its own files', async () => existsSync(join(y, 'keys', 'own-files-signed.json')), 20_000, () => once.stderr());
    await once.exited;
    const s = await status();
    expect(s.forged.find((x) => x.path === `claims/${id}.1.md`)).toBeUndefined();
    expect(task(s, id)?.claim?.node).toBe('y');
  }, 60_000);

  it('a pin made while the node\'s watcher runs signs its earlier files at the next wake: none of its results is written again', async () => {
    const z = await bus.addNode('z', [], ['--runner', 'shell', '--trust', fp('alice')]);
    // z works before it pinned the root (a node of the fleet before the migration to signed work).
    rmSync(join(z, 'trust-pin.json'));
    rmSync(join(z, 'keys', 'own-files-signed.json'));
    const running = startWatcher(z, ['--poll', '1s'], children);
    try {
      await until('z\'s watcher to start', async () => running.events().some((e) => e.type === 'started'), 60_000, () => running.stderr());
      const id = await dispatch('for-z', 'true', 'z');
      await until('z to answer it', async () => running.events().some((e) => e.type === 'finished' && e.id === id), 60_000, () => running.stderr());
      await until('its response on main', async () => gitCli(['ls-tree', '--name-only', 'main', 'responses/'], bus.remote).includes(`${id}.md`), 30_000);
      // Pinned while the watcher runs, then listed by an admin at once.
      const pinned = await gitbus(['trust', 'pin', '--trust', fp('alice'), '--json'], { home: z });
      expect(pinned.code, pinned.stderr).toBe(0);
      await admin(['trust', 'add', 'node', 'z', nodeKey(z)]);
      // A task after the listing: z claims it at a wake that would also have reclaimed the older one, had z taken
      // its own earlier files for forgeries (it claims the oldest first).
      const next = await dispatch('for-z-listed', 'true', 'z');
      await until('z to answer the next one', async () => running.events().some((e) => e.type === 'finished' && e.id === next), 60_000, () => running.stderr());
      const s = await status();
      expect(task(s, id)?.state).toBe('succeeded');
      expect(s.forged.filter((x) => x.id === id)).toEqual([]);
      expect(gitCli(['log', '--format=%s', 'main', '--', `responses/${id}.md`], bus.remote).trim().split('\n')).toHaveLength(1);
      expect(gitCli(['ls-tree', '--name-only', 'main', 'claims/'], bus.remote)).not.toContain(`${id}.2.md`);
      expect(existsSync(join(z, 'keys', 'own-files-signed.json'))).toBe(true);
    } finally {
      running.child.kill('SIGTERM');
      await running.exited;
    }
  }, 120_000);

  it('a response forged in the name of a freshly joined node is not signed by it: the task stays unfinished', async () => {
    const f = await bus.addNode('f', [], ['--runner', 'shell', '--trust', fp('alice')]);
    await admin(['trust', 'add', 'node', 'f', nodeKey(f)]);
    const id = await dispatch('for-y-planted', 'true', 'y');
    push({ [`responses/${id}.md`]: `---\nid: ${id}\nstatus: succeeded\nnode: f\nattempt: 1\nfinished: ${now()}\n---\n## Summary\n\nPWNED\n` }, 'a response planted in f\'s name');
    expect((await status()).forged.find((x) => x.path === `responses/${id}.md`)?.reason).toMatch(/it is not signed/);
    const once = startWatcher(f, ['--once'], children);
    await once.exited;
    expect(gitCli(['ls-tree', '--name-only', '-r', 'main', 'signatures/responses/'], bus.remote)).not.toContain(`${id}.md.sig`);
    const s = await status();
    expect(task(s, id)?.state).toBe('pending');
    expect(s.forged.find((x) => x.path === `responses/${id}.md`)?.reason).toMatch(/it is not signed/);
  }, 60_000);

  it('trust pin signs only the files in its name that were on the bus when it pinned', async () => {
    const g = await bus.addNode('g', [], ['--runner', 'shell', '--trust', fp('alice')]);
    rmSync(join(g, 'trust-pin.json'));
    rmSync(join(g, 'keys', 'own-files-signed.json'));
    const pinned = await gitbus(['trust', 'pin', '--trust', fp('alice'), '--json'], { home: g });
    expect(pinned.code, pinned.stderr).toBe(0);
    await admin(['trust', 'add', 'node', 'g', nodeKey(g)]);
    const id = await dispatch('for-y-after-pin', 'true', 'y');
    push({ [`responses/${id}.md`]: `---\nid: ${id}\nstatus: succeeded\nnode: g\nattempt: 1\nfinished: ${now()}\n---\n## Summary\n\nPWNED\n` }, 'a response planted after the pin');
    const once = startWatcher(g, ['--once'], children);
    await once.exited;
    expect(existsSync(join(g, 'keys', 'own-files-signed.json'))).toBe(true);
    expect(gitCli(['ls-tree', '--name-only', '-r', 'main', 'signatures/responses/'], bus.remote)).not.toContain(`${id}.md.sig`);
    expect(task(await status(), id)?.state).toBe('pending');
  }, 60_000);

  it('on a bus that refuses unlisted nodes, an unlisted node claims nothing, and files in its name are forged', async () => {
    const x = await bus.addNode('x', [], ['--runner', 'shell', '--trust', fp('alice')]);
    await admin(['trust', 'unlisted-nodes', 'refuse']);
    // x's card is itself in the name of an unlisted node now: boss does not see x, so the dispatch needs --force.
    expect((await status()).forged.find((f) => f.path === 'nodes/x.md')?.reason).toMatch(/refuses unlisted nodes/);
    const id = await dispatch('for-x', 'true', 'x', ['--force']);
    const r = await gitbus(['claim', '--next', '--json'], { home: x });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/this node's key is not listed in trust version \d+, which refuses unlisted nodes/);
    push({ [`claims/${id}.1.md`]: `---\nid: ${id}\nattempt: 1\nnode: x\nclaimed: ${now()}\n---\n` }, 'a claim in an unlisted name');
    const s = await status();
    expect(task(s, id)?.state).toBe('pending');
    expect(s.forged.find((f) => f.path === `claims/${id}.1.md`)?.reason).toMatch(/lists no key for x and refuses unlisted nodes/);
  });

  it('a node that leaves takes its card off main with its signature, even a card that trust sets aside', async () => {
    const nodeFiles = () => gitCli(['ls-tree', '-r', '--name-only', 'main', 'nodes/', 'signatures/nodes/'], bus.remote).split('\n');
    expect(nodeFiles()).toEqual(expect.arrayContaining(['nodes/x.md', 'signatures/nodes/x.md.sig']));
    const r = await gitbus(['leave', '--json'], { home: bus.home('x') });
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ node: 'x', card: true, released: [] });
    expect(nodeFiles()).not.toContain('nodes/x.md');
    expect(nodeFiles()).not.toContain('signatures/nodes/x.md.sig');
    expect(nodeFiles()).toContain('signatures/nodes/w.md.sig');
  });
});
