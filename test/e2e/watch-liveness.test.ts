import { describe, it, expect, afterAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { showInProcess } from '../helpers/in-process.js';
import { writeHeartbeat } from '../helpers/refs.js';

type Shown = { state: string; files: { path: string; text: string }[] };
type StatusNodes = { nodes: { node: string; liveness: string; heartbeat: { at: string; ageMs: number; stopped: boolean } | null }[]; tasks: { id: string; state: string; waitingOn: { id: string; state: string }[] }[] };

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

// Reading a task back is not what these tests are about: in this process, as `show --json` reads it.
const show = (home: string, id: string) => showInProcess<Shown>(home, id);
const status = async (home: string) => json<StatusNodes>(await gitbus(['status', '--json'], { home }));

describe('one watcher per home', () => {
  it('a second watch on the same home is refused, naming the first; the first one\'s running task survives; after it stops a new one starts', async () => {
    const bus = await makeBus({ node: 'boss', initArgs: ['--lease', '30s', '--heartbeat', '1s'] });
    cleanups.push(bus.cleanup);
    const a = await bus.addNode('a', [], ['--runner', 'shell']);
    const id = await bus.dispatch('boss', ['outlives a second watcher', '--command', 'sleep 3; echo finished']);
    const first = startWatcher(a, ['--poll', '1s'], children);
    await until('the first watcher to claim', () => first.events().some((e) => e.type === 'claimed' && e.id === id));

    const second = await gitbus(['watch', '--json', '--poll', '1s'], { home: a, timeoutMs: 30_000 });
    expect(second.code).toBe(5);
    const err = json<{ error: { code: string; message: string; data: { pid: number; since: string; how: string } } }>(second).error;
    expect(err.code).toBe('WATCHER_RUNNING');
    expect(err.data.pid).toBe(first.child.pid);
    expect(err.message).toContain(`pid ${first.child.pid}`);
    expect(err.message).toMatch(/since \d{4}-\d\d-\d\dT/);
    expect(second.stderr).toContain('a watcher is already running');
    expect(second.stderr).toContain(err.data.how);

    await until('the first watcher to finish its task', () => first.events().some((e) => e.type === 'finished' && e.id === id), 60_000);
    expect(first.events().find((e) => e.type === 'finished' && e.id === id)?.status).toBe('succeeded');
    expect(first.events().some((e) => e.type === 'released')).toBe(false);
    const shown = await show(bus.home('boss'), id);
    expect(shown.state).toBe('succeeded');
    expect(shown.files.filter((f) => f.path.startsWith('claims/'))).toHaveLength(1);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(join(a, 'watcher.lock'))).toBe(false);
    const third = startWatcher(a, ['--poll', '1s'], children);
    await until('a new watcher to start once the first stopped', () => third.events().some((e) => e.type === 'started'), 30_000, () => third.stderr());
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  }, 120_000);
});

/** `gitbus doctor`'s heartbeat.others check, as a process. */
async function othersCheck(home: string): Promise<{ status: string; detail: string } | undefined> {
  const r = await gitbus(['doctor', '--json'], { home });
  return json<{ checks: { name: string; status: string; detail: string }[] }>(r).checks.find((c) => c.name === 'heartbeat.others');
}

describe('status tells the truth', () => {
  it('a node whose watcher stopped long ago is silent on the first look, with its heartbeat\'s age; a live one is live', async () => {
    const bus = await makeBus({ node: 'boss', initArgs: ['--lease', '1m', '--heartbeat', '1s'] });
    cleanups.push(bus.cleanup);
    await bus.addNode('ghost');
    const live = await bus.addNode('live', [], ['--runner', 'shell']);
    writeHeartbeat(bus.remote, 'ghost', 86_400_000);
    const w = startWatcher(live, ['--poll', '1s'], children);
    await until('the live watcher to start', () => w.events().some((e) => e.type === 'started'));

    // The boss has never looked at heartbeats before: this is its first look.
    expect(existsSync(join(bus.home('boss'), 'liveness.json'))).toBe(false);
    const s = await status(bus.home('boss'));
    const ghost = s.nodes.find((n) => n.node === 'ghost');
    expect(ghost?.liveness).toBe('silent');
    expect(ghost?.heartbeat?.ageMs).toBeGreaterThan(86_000_000);
    expect(s.nodes.find((n) => n.node === 'live')?.liveness).toBe('alive');
    const text = await gitbus(['status'], { home: bus.home('boss') });
    expect(text.stdout).toMatch(/ghost\s+SILENT .*beat 1d ago/);
    expect(text.stdout).toMatch(/live\s+live .*beat \d+s ago/);
    // doctor says what status says.
    expect(await othersCheck(bus.home('boss'))).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^1 alive \(live\), 1 silent \(ghost\)/) });
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  }, 60_000);

  it('a watcher that stopped cleanly says so: its node is stopped, not live or silent', async () => {
    const bus = await makeBus({ node: 'boss', initArgs: ['--lease', '1m', '--heartbeat', '1s'] });
    cleanups.push(bus.cleanup);
    const a = await bus.addNode('a', [], ['--runner', 'shell']);
    const w = startWatcher(a, ['--poll', '1s'], children);
    await until('the watcher to start', () => w.events().some((e) => e.type === 'started'));
    expect((await status(bus.home('boss'))).nodes.find((n) => n.node === 'a')?.liveness).toBe('alive');
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const s = await status(bus.home('boss'));
    expect(s.nodes.find((n) => n.node === 'a')).toMatchObject({ liveness: 'stopped', heartbeat: { stopped: true } });
    expect((await gitbus(['status'], { home: bus.home('boss') })).stdout).toMatch(/a\s+stopped .*stopped \d+s ago/);
    // doctor too: a clean stop is neither alive nor a silence to warn about.
    expect(await othersCheck(bus.home('boss'))).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^0 alive, 1 stopped \(a\), 0 silent/) });
  }, 60_000);

  it('a task blocked by a cancelled dependency says why while no watcher runs, and the first watcher ends it', async () => {
    const bus = await makeBus({ node: 'boss', initArgs: ['--lease', '1m', '--heartbeat', '1s'] });
    cleanups.push(bus.cleanup);
    const a = await bus.addNode('a', [], ['--runner', 'shell']);
    const idA = await bus.dispatch('boss', ['never runs', '--command', 'true', '--to', 'boss', '--force']);
    const idB = await bus.dispatch('boss', ['after A', '--command', 'echo never', '--after', idA]);
    expect((await gitbus(['cancel', idA, '--json'], { home: bus.home('boss') })).code).toBe(0);
    const text = (await gitbus(['status'], { home: bus.home('boss') })).stdout;
    expect(text).toContain(`${idB}  blocked`);
    expect(text).toContain(`(after ${idA}, which was cancelled: it will be cancelled)`);
    const w = startWatcher(a, ['--poll', '1s'], children);
    await until('the watcher to cancel B', () => w.events().some((e) => e.type === 'cancelled' && e.id === idB));
    expect((await show(bus.home('boss'), idB)).files.find((f) => f.path === `cancels/${idB}.md`)?.text).toMatch(new RegExp(`by: watcher@a\\nc[\\s\\S]*reason: dependency ${idA} was cancelled`));
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  }, 60_000);

  it('tasks waiting on each other in a ring end cancelled with the ring, and one waiting on the ring with them', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const a = await bus.addNode('a', [], ['--runner', 'shell']);
    await bus.dispatch('boss', ['first', '--command', 'echo never', '--id', 'ring-a', '--after', 'ring-b']);
    await bus.dispatch('boss', ['second', '--command', 'echo never', '--id', 'ring-b', '--after', 'ring-a']);
    await bus.dispatch('boss', ['outside', '--command', 'echo never', '--id', 'ring-c', '--after', 'ring-b']);
    const r = await gitbus(['watch', '--once', '--json'], { home: a });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ ran: unknown[] }>(r).ran).toEqual([]);
    const cancelOf = async (id: string) => (await show(bus.home('boss'), id)).files.find((f) => f.path === `cancels/${id}.md`)?.text ?? '';
    expect(await cancelOf('ring-a')).toContain('reason: its dependencies form a cycle (ring-a -> ring-b -> ring-a)');
    expect(await cancelOf('ring-b')).toContain('reason: its dependencies form a cycle (ring-b -> ring-a -> ring-b)');
    expect(await cancelOf('ring-c')).toContain('reason: "dependency ring-b was cancelled: its dependencies form a cycle (ring-b -> ring-a -> ring-b)"');
    const after = await status(bus.home('boss'));
    expect(['ring-a', 'ring-b', 'ring-c'].map((id) => after.tasks.find((t) => t.id === id)?.state)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  }, 60_000);

  it('a chain A <- B <- C where A fails: B and C end cancelled with the reason, one cancel each, with two watchers', async () => {
    const bus = await makeBus({ node: 'boss', initArgs: ['--lease', '1m', '--heartbeat', '1s'] });
    cleanups.push(bus.cleanup);
    const homes = [await bus.addNode('a', [], ['--runner', 'shell']), await bus.addNode('b', [], ['--runner', 'shell'])];
    const idA = await bus.dispatch('boss', ['fails', '--command', 'exit 3']);
    const idB = await bus.dispatch('boss', ['after A', '--command', 'echo never', '--after', idA]);
    const idC = await bus.dispatch('boss', ['after B', '--command', 'echo never', '--after', idB]);
    const before = await status(bus.home('boss'));
    expect(before.tasks.find((t) => t.id === idC)).toMatchObject({ state: 'blocked', waitingOn: [{ id: idB }] });
    const watchers = homes.map((h) => startWatcher(h, ['--poll', '1s'], children));
    const explain = () => watchers.map((w) => JSON.stringify(w.events())).join('\n');
    // Waiting reads the bare remote (a git process, not a status command every 200 ms); status then says it once.
    const cancelledOnRemote = (id: string) => gitCli(['--git-dir', bus.remote, 'ls-tree', '--name-only', 'main', `cancels/${id}.md`]).trim() !== '';
    await until('B and C to end', () => [idB, idC].every(cancelledOnRemote), 60_000, explain);
    const after = await status(bus.home('boss'));
    expect([idB, idC].map((id) => after.tasks.find((t) => t.id === id)?.state)).toEqual(['cancelled', 'cancelled']);
    expect((await show(bus.home('boss'), idA)).state).toBe('failed');
    const b = await show(bus.home('boss'), idB);
    expect(b.files.find((f) => f.path === `cancels/${idB}.md`)?.text).toContain(`reason: dependency ${idA} failed`);
    const c = await show(bus.home('boss'), idC);
    expect(c.files.find((f) => f.path === `cancels/${idC}.md`)?.text).toContain(`reason: "dependency ${idB} was cancelled: dependency ${idA} failed"`);
    // Exactly one cancel each: one commit ever wrote each file, and one watcher reported each. A watcher reports a
    // cancel after its push, so the remote can show it before the report is read (seen in CI, the machine busy).
    const reported = (id: string) => watchers.flatMap((w) => w.events()).some((e) => e.type === 'cancelled' && e.id === id);
    await until('the watchers to report both cancels', () => [idB, idC].every(reported), 30_000, explain);
    for (const id of [idB, idC]) {
      expect(gitCli(['--git-dir', bus.remote, 'log', '--format=%H', 'main', '--', `cancels/${id}.md`]).trim().split('\n')).toHaveLength(1);
      expect(watchers.flatMap((w) => w.events()).filter((e) => e.type === 'cancelled' && e.id === id)).toHaveLength(1);
    }
    // Neither ever ran.
    expect(watchers.flatMap((w) => w.events()).some((e) => e.type === 'claimed' && (e.id === idB || e.id === idC))).toBe(false);
    for (const w of watchers) w.child.kill('SIGTERM');
    for (const w of watchers) expect(await w.exited).toBe(0);
  }, 90_000);
});

describe('a holder keeps its lease whatever the heartbeat says', () => {
  it('with a heartbeat longer than the lease (a warning only) the holder beats every third of the lease, and nobody takes its running task', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    // init refuses such settings; a person editing gitbus.yaml is only warned (docs/PROTOCOL.md §3).
    const work = join(bus.dir, 'person');
    gitCli(['clone', '-q', '-b', 'main', bus.remote, work]);
    writeFileSync(join(work, 'gitbus.yaml'), 'protocol: 1\nlease: 6s\nheartbeat: 20s\npoll: 1s\narchiveAfter: 1d\nmaxAttempts: 3\n');
    gitCli(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', 'settings'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    // Every ref update the remote takes, in order, with the beats' own times read back below.
    const pushlog = join(bus.dir, 'pushlog');
    const hook = join(bus.remote, 'hooks', 'post-receive');
    writeFileSync(hook, `#!/bin/sh\nwhile read old new ref; do echo "$ref $new" >> '${pushlog}'; done\n`);
    chmodSync(hook, 0o755);
    const x = await bus.addNode('x', [], ['--runner', 'shell']);
    const y = await bus.addNode('y', [], ['--runner', 'shell']);
    // Longer than two leases: y watches x for more than a lease while it runs.
    const id = await bus.dispatch('boss', ['outlasts two leases', '--command', 'sleep 14; echo done']);
    const holder = startWatcher(x, [], children);
    await until('x to claim it', () => holder.events().some((e) => e.type === 'claimed' && e.id === id), 30_000, () => holder.stderr());
    const observer = startWatcher(y, [], children);
    const both = () => `x: ${JSON.stringify(holder.events())}\n${holder.stderr()}\ny: ${JSON.stringify(observer.events())}\n${observer.stderr()}`;
    await until('x to finish it', () => holder.events().some((e) => e.type === 'finished' && e.id === id), 60_000, both);

    expect(holder.events().find((e) => e.type === 'finished' && e.id === id)?.status).toBe('succeeded');
    expect(observer.events().some((e) => e.type === 'claimed' && e.id === id), both()).toBe(false);
    const shown = await show(bus.home('boss'), id);
    expect(shown.state).toBe('succeeded');
    expect(shown.files.filter((f) => f.path.startsWith('claims/'))).toHaveLength(1);
    // x's beats while it ran: ticks a third of the lease (2 s) apart, not the 20 s of the heartbeat. Half a lease
    // allows for a loaded machine's late timers; the lease itself would have expired the claim.
    const beatTimes = readFileSync(pushlog, 'utf8').split('\n').filter((l) => l.startsWith('refs/gitbus/heartbeats/x ')).map((l) => {
      const yaml = gitCli(['--git-dir', bus.remote, 'show', `${l.split(' ')[1] ?? ''}:heartbeat.yaml`]);
      return { at: Date.parse(/^time: (.+)$/m.exec(yaml)?.[1] ?? ''), running: yaml.includes(`id: ${id}`) };
    });
    const whileRunning = beatTimes.filter((b) => b.running).map((b) => b.at);
    expect(whileRunning.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < whileRunning.length; i++) expect((whileRunning[i] ?? 0) - (whileRunning[i - 1] ?? 0)).toBeLessThanOrEqual(3_000);
    for (const w of [holder, observer]) w.child.kill('SIGTERM');
    for (const w of [holder, observer]) expect(await w.exited).toBe(0);
  }, 90_000);
});
