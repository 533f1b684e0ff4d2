import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { fingerprintOf, makeKeys } from '../helpers/ssh-keys.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';

/**
 * Nodes that joined before the bus had a trust root (docs/PROTOCOL.md §12, "Pinning"): they run any handoff, signed
 * or not, until a person pins the root on each. `trust init` names them and the command; every node's card says
 * which version it pinned (`trustPin`), so that `status`, `doctor` and `trust list` on any node name those that do not
 * enforce the root; a watcher of such a node says once that the bus has one, and never pins by itself. Real
 * ssh-keygen keys, a real bus on a bare remote, the CLI as processes.
 */

interface Check {
  name: string;
  status: string;
  detail: string;
  fix: string | null;
}
interface NotEnforced {
  version: number;
  nodes: { node: string; reason: string }[];
  fingerprints: string[];
  fix: string;
}

describe('nodes already on the bus when the trust root starts', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let laptop: string;
  let box1: string;
  let box2: string;
  const children: ChildProcess[] = [];
  const key = (name: string) => join(bus.dir, 'keys', name);
  const fp = () => fingerprintOf(`${key('alice')}.pub`);
  const notEnforced = async (home: string): Promise<NotEnforced | null> => {
    const r = await gitbus(['status', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    return json<{ trustNotEnforced: NotEnforced | null }>(r).trustNotEnforced;
  };
  const check = async (home: string): Promise<Check> => {
    const r = await gitbus(['doctor', '--json'], { home });
    const c = json<{ checks: Check[] }>(r).checks.find((x) => x.name === 'trust.nodes');
    if (!c) throw new Error(`no trust.nodes check: ${r.stdout}`);
    return c;
  };

  beforeAll(async () => {
    bus = await makeBus({ node: 'laptop' });
    laptop = bus.home('laptop');
    box1 = await bus.addNode('box1', [], ['--runner', 'shell']);
    box2 = await bus.addNode('box2', [], ['--runner', 'shell']);
    makeKeys(join(bus.dir, 'keys'), ['alice']);
  }, 60_000);
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await bus?.cleanup();
  });

  it('before any trust root, doctor skips trust.nodes and status says nothing of it', async () => {
    expect((await check(laptop)).status).toBe('skip');
    expect(await notEnforced(laptop)).toBeNull();
  });

  it('trust init names the nodes already on the bus and the command that pins the root on each', async () => {
    const r = await gitbus(['trust', 'init', '--admin', `laptop=${key('alice')}.pub`, '--key', key('alice')], { home: laptop });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('other nodes pin it when they join');
    expect(r.stdout).toContain('box1, box2 joined before it: they run any handoff, signed or not, until it is pinned on each');
    expect(r.stdout).toContain(`gitbus trust pin --trust ${fp()}`);
  });

  it('status, doctor and trust list on the admin\'s node name the nodes that do not enforce it, with the fix', async () => {
    const s = await notEnforced(laptop);
    expect(s?.version).toBe(1);
    expect(s?.nodes.map((n) => n.node)).toEqual(['box1', 'box2']);
    expect(s?.nodes[0]?.reason).toContain('its card says it pinned no trust root');
    expect(s?.fingerprints).toEqual([fp()]);
    expect(s?.fix).toContain(`gitbus trust pin --trust ${fp()}`);
    const text = await gitbus(['status'], { home: laptop });
    expect(text.stdout).toContain('do not enforce trust version 1 and run any handoff, signed or not: box1, box2');
    expect(text.stdout).toContain(`gitbus trust pin --trust ${fp()}`);

    const c = await check(laptop);
    expect(c.status).toBe('warn');
    expect(c.detail).toContain('box1, box2');
    expect(c.fix).toContain(`gitbus trust pin --trust ${fp()}`);

    const list = await gitbus(['trust', 'list'], { home: laptop });
    expect(list.stdout).toContain('nodes that do not enforce it (they run any handoff, signed or not): box1, box2');
    expect(list.stdout).toContain(`gitbus trust pin --trust ${fp()}`);
    expect(list.stdout).not.toContain('"gitbus trust node-key" on each');
  });

  it('status on a node that has not pinned names it too', async () => {
    expect((await notEnforced(box1))?.nodes.map((n) => n.node)).toEqual(['box1', 'box2']);
  });

  it('a node that pins says on its card which version it pinned, and the warnings then leave it out', async () => {
    const pinned = await gitbus(['trust', 'pin', '--trust', fp(), '--json'], { home: box1 });
    expect(pinned.code, pinned.stderr).toBe(0);
    const digest = json<{ digest: string }>(pinned).digest;
    const card = gitCli(['show', 'main:nodes/box1.md'], bus.remote);
    expect(card).toContain(`trustPin:\n  version: 1\n  digest: ${digest}\n`);
    expect(gitCli(['show', 'main:nodes/laptop.md'], bus.remote)).toContain(`trustPin:\n  version: 1\n  digest: ${digest}\n`);
    expect((await notEnforced(laptop))?.nodes.map((n) => n.node)).toEqual(['box2']);
    expect((await check(laptop)).detail).not.toContain('box1');
  });

  it('a watcher of a node that has not pinned says once that the bus has a trust root, and pins nothing', async () => {
    const w = startWatcher(box2, ['--poll', '1s'], children);
    const said = () => w.events().filter((e) => e.type === 'trust-root-unpinned');
    await until('box2 to say the bus has a trust root', async () => said().length > 0, 60_000, () => w.stderr());
    expect(said()[0]).toMatchObject({ version: 1, fingerprints: [fp()], fix: expect.stringContaining(`gitbus trust pin --trust ${fp()}`) });
    // Later wakes (it runs an unsigned task, as a node that enforces nothing does) do not say it again.
    const d = await gitbus(['dispatch', 'unsigned', '--command', 'true', '--to', 'box2', '--unsigned', '--no-git', '--json'], { home: laptop });
    expect(d.code, d.stderr).toBe(0);
    const id = json<{ id: string }>(d).id;
    await until('box2 to run it', async () => w.events().some((e) => e.type === 'finished' && e.id === id), 60_000, () => w.stderr());
    expect(said()).toHaveLength(1);
    expect(existsSync(join(box2, 'trust-pin.json'))).toBe(false);
    w.child.kill('SIGTERM');
    await w.exited;
  }, 120_000);
});
