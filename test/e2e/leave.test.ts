import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { gitbus, gitCli, json, type RunResult } from '../helpers/cli.js';
import { claimInProcess, respondInProcess, statusInProcess } from '../helpers/in-process.js';
import { readRefs, writeHeartbeat } from '../helpers/refs.js';
import { until } from '../helpers/wait.js';
import { startWatcher } from '../helpers/watcher-process.js';

/**
 * `gitbus leave` (bus/ops/leave.ts, docs/PROTOCOL.md §3 "Leaving"): a node's card goes from main and its heartbeat
 * ref is deleted, so status, the claim ranking and the push budget stop counting it; never while it holds claims
 * (its own may be released in the same commit), never from its home while its watcher runs, and for another node
 * not while it looks alive unless forced.
 */

let bus: Awaited<ReturnType<typeof makeBus>>;
const children: ChildProcess[] = [];

const errorCode = (r: RunResult) => json<{ error: { code: string; fix: string } }>(r).error;
const cards = () => gitCli(['--git-dir', bus.remote, 'ls-tree', '--name-only', 'main', 'nodes/']).split('\n').filter(Boolean);
/** The nodes with a heartbeat ref on the remote. */
const beats = () => [...readRefs(bus.remote, 'refs/gitbus/heartbeats/').keys()];

beforeAll(async () => {
  bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
  for (const n of ['beta', 'gamma', 'delta']) await bus.addNode(n, [], ['--runner', 'shell']);
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

describe('gitbus leave', () => {
  it('a node holding a claim does not leave; with --release it gives the claim back in the same commit, and its card and heartbeat go', async () => {
    const beta = bus.home('beta');
    writeHeartbeat(bus.remote, 'beta', 0);
    const id = await bus.dispatch('alpha', ['for beta', '--to', 'beta']);
    await claimInProcess(beta, id);

    const refused = await gitbus(['leave', '--json'], { home: beta });
    expect(refused.code).toBe(5);
    expect(errorCode(refused)).toMatchObject({ code: 'NODE_HOLDS_CLAIMS', fix: expect.stringContaining('--release') });
    expect(cards()).toContain('nodes/beta.md');

    const left = await gitbus(['leave', '--release', '--json'], { home: beta });
    expect(left.code, left.stderr).toBe(0);
    expect(json(left)).toMatchObject({ node: 'beta', card: true, heartbeat: true, released: [`${id}.1`], home: beta });
    expect(cards()).not.toContain('nodes/beta.md');
    expect(beats()).not.toContain('beta');
    const s = await statusInProcess<{ nodes: { node: string }[]; tasks: { id: string; state: string }[] }>(bus.home('alpha'));
    expect(s.nodes.map((n) => n.node)).not.toContain('beta');
    expect(s.tasks.find((t) => t.id === id)?.state).toBe('pending');
    // Left already: nothing by that name.
    const again = await gitbus(['leave', '--node', 'beta', '--json'], { home: bus.home('alpha') });
    expect([again.code, errorCode(again).code]).toEqual([4, 'UNKNOWN_NODE']);
  }, 120_000);

  it('not from a home whose watcher runs, nor for another node that looks alive unless forced', async () => {
    const gamma = bus.home('gamma');
    const w = startWatcher(gamma, ['--poll', '30s', '--no-serve'], children);
    await until('gamma\'s watcher beating', () => beats().includes('gamma') && w.events().some((e) => e.type === 'started'), 60_000, () => w.stderr());

    const own = await gitbus(['leave', '--json'], { home: gamma });
    expect([own.code, errorCode(own).code]).toEqual([5, 'WATCHER_RUNNING']);
    const live = await gitbus(['leave', '--node', 'gamma', '--json'], { home: bus.home('alpha') });
    expect([live.code, errorCode(live).code]).toEqual([5, 'NODE_STILL_LIVE']);
    expect(cards()).toContain('nodes/gamma.md');

    const forced = await gitbus(['leave', '--node', 'gamma', '--force', '--json'], { home: bus.home('alpha') });
    expect(forced.code, forced.stderr).toBe(0);
    expect(json(forced)).toMatchObject({ node: 'gamma', card: true, heartbeat: true, released: [], home: null });
    expect(cards()).not.toContain('nodes/gamma.md');
    w.child.kill('SIGTERM');
    await w.exited;
  }, 120_000);

  it('another node\'s claims keep it on the bus, forced or not, until they are reclaimed or answered', async () => {
    const delta = bus.home('delta');
    // A machine gone an hour ago: silent, so no --force is needed for it, but it still holds a claim.
    writeHeartbeat(bus.remote, 'delta', 3_600_000);
    const id = await bus.dispatch('alpha', ['for delta', '--to', 'delta']);
    await claimInProcess(delta, id);
    for (const extra of [[], ['--force']]) {
      const r = await gitbus(['leave', '--node', 'delta', ...extra, '--json'], { home: bus.home('alpha') });
      expect([r.code, errorCode(r).code]).toEqual([5, 'NODE_HOLDS_CLAIMS']);
      expect(errorCode(r).fix).toContain('reclaims them');
    }
    expect(beats()).toContain('delta');
    // The machine answered before it went (a watcher reclaims a silent node's claims only after watching it for a lease).
    await respondInProcess(delta, id, { status: 'failed', summary: 'the machine is being retired' });
    const left = await gitbus(['leave', '--node', 'delta', '--json'], { home: bus.home('alpha') });
    expect(left.code, left.stderr).toBe(0);
    expect(cards()).not.toContain('nodes/delta.md');
    expect(beats()).not.toContain('delta');
  }, 120_000);
});
