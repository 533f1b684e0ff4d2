import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { gitbus, gitCli, json, type RunResult } from '../helpers/cli.js';
import { claimInProcess, respondInProcess, statusInProcess } from '../helpers/in-process.js';
import { heartbeatCommit, mainOf, readRefs, writeHeartbeat } from '../helpers/refs.js';
import { until } from '../helpers/wait.js';
import { startWatcher } from '../helpers/watcher-process.js';

/**
 * `gitbus leave` (bus/ops/leave.ts, docs/PROTOCOL.md §3 "Leaving"): a node's card goes from main and its heartbeat
 * ref is deleted, so status, the claim ranking and the push budget stop counting it; never while it holds claims
 * (its own may be released in the same commit), never from its home while its watcher runs, and for another node
 * not while it looks alive unless forced.
 */

type Bus = Awaited<ReturnType<typeof makeBus>>;
/** The default lease (5m): a node that beat seconds ago looks alive however slow the machine. */
let bus: Bus;
/**
 * A lease of 3 s, for removals without --force: only a heartbeat this home watched stand still past the lease counts
 * as silent (docs/PROTOCOL.md §5a), and these tests wait that long.
 */
let watched: Bus;
const WATCHED_LEASE_MS = 3_000;
const children: ChildProcess[] = [];

const errorCode = (r: RunResult) => json<{ error: { code: string; fix: string; message: string; data: Record<string, unknown> } }>(r).error;
const cards = (on: Bus = bus) => gitCli(['--git-dir', on.remote, 'ls-tree', '--name-only', 'main', 'nodes/']).split('\n').filter(Boolean);
/** The nodes with a heartbeat ref on the remote. */
const beats = (on: Bus = bus) => [...readRefs(on.remote, 'refs/gitbus/heartbeats/').keys()];
/**
 * alpha looks at the bus (a status), then a lease passes by this clock: heartbeats that have not moved meanwhile are
 * ones alpha watched stand still past the lease. The wait is the passing of time itself, which is the condition.
 */
async function alphaWatchesALease(): Promise<void> {
  await statusInProcess(watched.home('alpha'));
  const from = Date.now();
  await until('a lease to pass since alpha looked', () => Date.now() - from > WATCHED_LEASE_MS + 100, 10_000);
}

beforeAll(async () => {
  bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
  for (const n of ['beta', 'gamma']) await bus.addNode(n, [], ['--runner', 'shell']);
  watched = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell', '--lease', '3s'] });
  for (const n of ['delta', 'epsilon', 'zeta', 'eta', 'theta']) await watched.addNode(n, [], ['--runner', 'shell']);
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
  await watched?.cleanup();
});

describe('gitbus leave', () => {
  it('a node holding claims does not leave; with --release it gives them back in the same commit (not one whose result waits in its outbox), and its card and heartbeat go', async () => {
    const beta = bus.home('beta');
    writeHeartbeat(bus.remote, 'beta', 0);
    type Status = { nodes: { node: string }[]; tasks: { id: string; state: string }[]; budget: { nodes: number } };
    const counted = (await statusInProcess<Status>(bus.home('alpha'))).budget.nodes;
    expect(counted).toBeGreaterThan(0);
    const done = await bus.dispatch('alpha', ['finished on beta', '--to', 'beta']);
    const id = await bus.dispatch('alpha', ['for beta', '--to', 'beta']);
    await claimInProcess(beta, done);
    await claimInProcess(beta, id);

    const refused = await gitbus(['leave', '--json'], { home: beta });
    expect(refused.code).toBe(5);
    expect(errorCode(refused)).toMatchObject({ code: 'NODE_HOLDS_CLAIMS', fix: expect.stringContaining('--release') });
    expect(cards()).toContain('nodes/beta.md');

    // A result its watcher finished while the remote was away, stored in the outbox (watcher/outbox.ts).
    const outbox = join(beta, 'outbox', `${done}.1.json`);
    mkdirSync(join(beta, 'outbox'), { recursive: true });
    writeFileSync(outbox, JSON.stringify({ id: done, attempt: 1, queuedAt: new Date().toISOString(), input: { id: done, status: 'succeeded', summary: 'done while offline' } }));
    const kept = await gitbus(['leave', '--release', '--json'], { home: beta });
    expect([kept.code, errorCode(kept).code]).toEqual([5, 'RESULTS_NOT_DELIVERED']);
    expect(errorCode(kept).fix).toContain('gitbus watch --once');
    expect(cards()).toContain('nodes/beta.md');
    // Delivered (as the watcher would): only the other claim is left to give back.
    await respondInProcess(beta, done, { status: 'succeeded', summary: 'done while offline' });
    rmSync(outbox);

    const left = await gitbus(['leave', '--release', '--json'], { home: beta });
    expect(left.code, left.stderr).toBe(0);
    expect(json(left)).toMatchObject({ node: 'beta', card: true, heartbeat: true, released: [`${id}.1`], home: beta });
    expect(cards()).not.toContain('nodes/beta.md');
    expect(beats()).not.toContain('beta');
    const s = await statusInProcess<Status>(bus.home('alpha'));
    expect(s.nodes.map((n) => n.node)).not.toContain('beta');
    // The push budget counts the nodes that beat: one fewer.
    expect(s.budget.nodes).toBe(counted - 1);
    expect(s.tasks.find((t) => t.id === id)?.state).toBe('pending');
    // Left already: nothing by that name. --release is this node's own claims only.
    const again = await gitbus(['leave', '--node', 'beta', '--json'], { home: bus.home('alpha') });
    expect([again.code, errorCode(again).code]).toEqual([4, 'UNKNOWN_NODE']);
    const misuse = await gitbus(['leave', '--node', 'beta', '--release', '--json'], { home: bus.home('alpha') });
    expect([misuse.code, errorCode(misuse).code]).toEqual([2, 'BAD_INPUT']);
  }, 120_000);

  it('not from a home whose watcher runs, nor for another node that looks alive unless forced', async () => {
    const gamma = bus.home('gamma');
    const w = startWatcher(gamma, ['--poll', '30s', '--no-serve'], children);
    await until('gamma\'s watcher beating', () => beats().includes('gamma') && w.events().some((e) => e.type === 'started'), 60_000, () => w.stderr());

    const own = await gitbus(['leave', '--json'], { home: gamma });
    expect([own.code, errorCode(own).code]).toEqual([5, 'WATCHER_RUNNING']);
    // Gone at once, as a machine that dies: its last beat is fresh, so it still looks alive, and beats no more.
    w.child.kill('SIGKILL');
    await w.exited;
    const live = await gitbus(['leave', '--node', 'gamma', '--json'], { home: bus.home('alpha') });
    expect([live.code, errorCode(live).code]).toEqual([5, 'NODE_STILL_LIVE']);
    expect(cards()).toContain('nodes/gamma.md');

    const forced = await gitbus(['leave', '--node', 'gamma', '--force', '--json'], { home: bus.home('alpha') });
    expect(forced.code, forced.stderr).toBe(0);
    expect(json(forced)).toMatchObject({ node: 'gamma', card: true, heartbeat: true, released: [], home: null });
    expect(cards()).not.toContain('nodes/gamma.md');
    expect(beats()).not.toContain('gamma');

    // A watcher left running after a forced leave beats again: doctor names the node that beats with no card, and
    // leaving again removes what is left.
    writeHeartbeat(bus.remote, 'gamma', 0);
    const d = await gitbus(['doctor', '--json'], { home: bus.home('alpha') });
    const others = json<{ checks: { name: string; status: string; detail: string; fix: string }[] }>(d).checks.find((c) => c.name === 'heartbeat.others');
    expect(others).toMatchObject({ status: 'warn', detail: expect.stringContaining('gamma beats with no card on main') });
    expect(others?.fix).toContain('gitbus leave --node NAME');
    // status lists it apart from the nodes with cards, with its liveness.
    const listed = await statusInProcess<{ nodes: { node: string }[]; cardless: { node: string; liveness: string; heartbeat: unknown }[] }>(bus.home('alpha'));
    expect(listed.nodes.map((n) => n.node)).not.toContain('gamma');
    expect(listed.cardless).toEqual([expect.objectContaining({ node: 'gamma', liveness: 'alive', heartbeat: expect.objectContaining({ stopped: false }) })]);
    const text = await gitbus(['status'], { home: bus.home('alpha') });
    expect(text.stdout).toMatch(/beating with no card on main \(1\)[^\n]*\n {2}gamma +live +beat /);
    expect(text.stdout).toContain('gitbus leave --node NAME');
    const rest = await gitbus(['leave', '--node', 'gamma', '--force', '--json'], { home: bus.home('alpha') });
    expect(rest.code, rest.stderr).toBe(0);
    expect(json(rest)).toMatchObject({ node: 'gamma', card: false, heartbeat: true });
    expect(beats()).not.toContain('gamma');
    expect((await statusInProcess<{ cardless: unknown[] }>(bus.home('alpha'))).cardless).toEqual([]);
  }, 120_000);

  it('another node\'s claims keep it on the bus, forced or not, until they are reclaimed or answered', async () => {
    const delta = watched.home('delta');
    // A machine gone an hour ago by its own clock, which may be an hour behind: alpha sees its heartbeat for the
    // first time, so it counts as live (docs/PROTOCOL.md §5a), and the refusal says that waiting settles it.
    writeHeartbeat(watched.remote, 'delta', 3_600_000);
    const id = await watched.dispatch('alpha', ['for delta', '--to', 'delta']);
    await claimInProcess(delta, id);
    const first = await gitbus(['leave', '--node', 'delta', '--json'], { home: watched.home('alpha') });
    expect([first.code, errorCode(first).code], first.stderr).toEqual([5, 'NODE_STILL_LIVE']);
    expect(errorCode(first).data).toMatchObject({ node: 'delta', liveness: 'alive', watched: 'first' });
    expect(errorCode(first).message).toContain('this home sees that heartbeat for the first time');
    expect(errorCode(first).fix).toContain('run "gitbus leave --node delta" again once this home has seen its heartbeat stand still for longer than the lease (3s)');
    expect(cards(watched)).toContain('nodes/delta.md');
    // Silent by this home's own watching, so no --force is needed for it, but it still holds a claim.
    await alphaWatchesALease();
    for (const extra of [[], ['--force']]) {
      const r = await gitbus(['leave', '--node', 'delta', ...extra, '--json'], { home: watched.home('alpha') });
      expect([r.code, errorCode(r).code]).toEqual([5, 'NODE_HOLDS_CLAIMS']);
      expect(errorCode(r).fix).toContain('reclaims them');
    }
    expect(beats(watched)).toContain('delta');
    // The machine answered before it went (a watcher reclaims a silent node's claims only after watching it for a lease).
    await respondInProcess(delta, id, { status: 'failed', summary: 'the machine is being retired' });
    const left = await gitbus(['leave', '--node', 'delta', '--json'], { home: watched.home('alpha') });
    expect(left.code, left.stderr).toBe(0);
    expect(cards(watched)).not.toContain('nodes/delta.md');
    expect(beats(watched)).not.toContain('delta');
  }, 120_000);

  it('a beat or a claim that lands while leave pushes moves nothing: the card and the heartbeat go in one push, and leave decides again', async () => {
    const alpha = watched.home('alpha');
    // The remote's pre-receive hook runs `race.sh` once, when a push deletes the heartbeat: what another node writes
    // in the moment between leave's decision and its push lands first.
    const race = join(watched.remote, 'race.sh');
    const hook = join(watched.remote, 'hooks', 'pre-receive');
    const installHook = () => writeFileSync(hook, `#!/bin/sh\ngrep -q ' 0000000000000000000000000000000000000000 refs/gitbus/heartbeats/' || exit 0\n[ -e '${race}' ] || exit 0\nmv '${race}' '${race}.ran'\nexec env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES sh '${race}.ran'\n`, { mode: 0o755 });
    installHook();
    const racing = (script: string) => writeFileSync(race, `git update-ref ${script}\n`);
    // Machines gone an hour ago, whose heartbeats alpha watches stand still past the lease: by this home's clock
    // they are silent, so each leave below goes as far as its push.
    for (const n of ['epsilon', 'zeta', 'eta', 'theta']) writeHeartbeat(watched.remote, n, 3_600_000);
    await alphaWatchesALease();
    try {
      // One whose watcher beats once more as leave pushes: still running, so it stays.
      racing(`refs/gitbus/heartbeats/epsilon ${heartbeatCommit(watched.remote, 'epsilon', 0)}`);
      const live = await gitbus(['leave', '--node', 'epsilon', '--json'], { home: alpha });
      expect(existsSync(race)).toBe(false);
      expect([live.code, errorCode(live).code], live.stderr).toEqual([5, 'NODE_STILL_LIVE']);
      expect(cards(watched)).toContain('nodes/epsilon.md');
      // Forced, the beat that lands meanwhile is deleted in the next round with the card.
      writeHeartbeat(watched.remote, 'epsilon', 3_600_000);
      racing(`refs/gitbus/heartbeats/epsilon ${heartbeatCommit(watched.remote, 'epsilon', 0)}`);
      const forced = await gitbus(['leave', '--node', 'epsilon', '--force', '--json'], { home: alpha });
      expect(existsSync(race)).toBe(false);
      expect(forced.code, forced.stderr).toBe(0);
      expect(json(forced)).toMatchObject({ node: 'epsilon', card: true, heartbeat: true });
      expect(cards(watched)).not.toContain('nodes/epsilon.md');
      expect(beats(watched)).not.toContain('epsilon');

      // A claim as the node lands as leave pushes (a person's `gitbus claim` on that machine): its claim is not left
      // without the heartbeat a reclaim needs.
      const id = await watched.dispatch('alpha', ['for zeta', '--to', 'zeta']);
      const before = mainOf(watched.remote);
      await claimInProcess(watched.home('zeta'), id);
      const claimed = mainOf(watched.remote);
      gitCli(['--git-dir', watched.remote, 'update-ref', 'refs/heads/main', before ?? '', claimed ?? '']);
      racing(`refs/heads/main ${claimed} ${before}`);
      const held = await gitbus(['leave', '--node', 'zeta', '--json'], { home: alpha });
      expect(existsSync(race)).toBe(false);
      expect([held.code, errorCode(held).code], held.stderr).toEqual([5, 'NODE_HOLDS_CLAIMS']);
      expect(cards(watched)).toContain('nodes/zeta.md');
      expect(beats(watched)).toContain('zeta');
    } finally {
      rmSync(hook, { force: true });
      rmSync(race, { force: true });
    }

    // A host that does not offer atomic pushes gets the two one after the other: the card, then the heartbeat.
    gitCli(['--git-dir', watched.remote, 'config', 'receive.advertiseAtomic', 'false']);
    try {
      const apart = await gitbus(['leave', '--node', 'eta', '--json'], { home: alpha });
      expect(apart.code, apart.stderr).toBe(0);
      expect(json(apart)).toMatchObject({ node: 'eta', card: true, heartbeat: true });
      expect(cards(watched)).not.toContain('nodes/eta.md');
      expect(beats(watched)).not.toContain('eta');
      // There a beat between the two pushes keeps the heartbeat, and the error says the card went.
      installHook();
      racing(`refs/gitbus/heartbeats/theta ${heartbeatCommit(watched.remote, 'theta', 0)}`);
      const beat = await gitbus(['leave', '--node', 'theta', '--json'], { home: alpha });
      expect([beat.code, errorCode(beat).code], beat.stderr).toEqual([6, 'HEARTBEAT_LEFT']);
      expect(json<{ error: { data: Record<string, unknown>; fix: string } }>(beat).error).toMatchObject({ data: { cause: 'beat', card: true, released: [] }, fix: expect.stringContaining('stop its watcher') });
      expect(cards(watched)).not.toContain('nodes/theta.md');
      expect(beats(watched)).toContain('theta');
    } finally {
      gitCli(['--git-dir', watched.remote, 'config', '--unset', 'receive.advertiseAtomic']);
      rmSync(hook, { force: true });
      rmSync(race, { force: true });
    }
  }, 120_000);
});
