import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';

/**
 * The push budget (docs/PROTOCOL.md §3, §5a): idle watchers mark presence rarely, holders beat for their lease,
 * a node waking from idle beats before its claim lands, and status and doctor say when a fleet is over budget.
 * One bus for the file: lease 3 s, heartbeat 1 s, presence 4 s (longer than the lease, so an observer would
 * call an idle node silent by its beat alone). A post-receive hook on the bare remote logs every ref update in
 * order (it also makes pushes go through git's receive-pack).
 */
const children: ChildProcess[] = [];
let bus: Awaited<ReturnType<typeof makeBus>>;
let a: WatcherProcess;
let pushlog: string;
let aHome: string;
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

const SETTINGS = 'protocol: 1\nlease: 3s\nheartbeat: 1s\npoll: 1s\narchiveAfter: 1d\nmaxAttempts: 3\npresence: 4s\n';

/** Rewrites gitbus.yaml with plain git, as a person would. */
function setSettings(text: string, work: string): void {
  if (!existsSync(work)) gitCli(['clone', '-q', '-b', 'main', bus.remote, work]);
  else gitCli(['pull', '-q', '--rebase', 'origin', 'main'], work);
  writeFileSync(join(work, 'gitbus.yaml'), text);
  gitCli(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', 'settings'], work);
  gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
}

/** The ref updates the remote took, in order. */
const updates = (): { ref: string; oid: string }[] =>
  existsSync(pushlog)
    ? readFileSync(pushlog, 'utf8').split('\n').filter(Boolean).map((l) => {
        const [ref = '', oid = ''] = l.split(' ');
        return { ref, oid };
      })
    : [];
const beatsOf = (node: string) => updates().filter((u) => u.ref === `refs/gitbus/heartbeats/${node}`);
const beatYaml = (oid: string) => gitCli(['--git-dir', bus.remote, 'show', `${oid}:heartbeat.yaml`]);
const beatTime = (oid: string) => Date.parse(/^time: (.+)$/m.exec(beatYaml(oid))?.[1] ?? '');
const subject = (oid: string) => gitCli(['--git-dir', bus.remote, 'log', '-1', '--format=%s', oid]).trim();
/** Until this node's latest beat is older than the heartbeat, so its next claim needs a fresh one. */
const beatOlderThan = async (node: string, ms: number) =>
  until(`${node}'s last beat to be ${ms} ms old`, () => {
    const last = beatsOf(node).at(-1);
    return last !== undefined && Date.now() - beatTime(last.oid) >= ms;
  }, 20_000);

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  setSettings(SETTINGS, join(bus.dir, 'person'));
  pushlog = join(bus.dir, 'pushlog');
  const hook = join(bus.remote, 'hooks', 'post-receive');
  writeFileSync(hook, `#!/bin/sh\nwhile read old new ref; do echo "$ref $new" >> '${pushlog}'; done\n`);
  chmodSync(hook, 0o755);
  aHome = await bus.addNode('a', [], ['--runner', 'shell']);
  a = startWatcher(aHome, [], children);
  await until('a to start', () => a.events().some((e) => e.type === 'started'), 30_000, () => a.stderr());
}, 60_000);

describe('idle presence', () => {
  it('an idle watcher beats at the presence interval, not every heartbeat, and says when to expect the next', async () => {
    await until('three beats of the idle watcher', () => beatsOf('a').length >= 3, 30_000, () => a.stderr());
    const times = beatsOf('a').slice(0, 3).map((b) => beatTime(b.oid));
    // Presence 4 s, ticks every 1 s (a beat is due half a tick early): never the 1 s of the heartbeat.
    for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(3_000);
    expect(beatYaml(beatsOf('a')[0]?.oid ?? '')).toMatch(/^every: 4s$/m);
  }, 40_000);
});

describe('waking from idle', () => {
  it('a node whose last beat is old beats before its claim lands, and an observer that saw it idle does not reclaim it', async () => {
    // A long presence from now on: no presence beat of a can fall between the dispatch and the claim below, so
    // only the beat before a claim can make a's beat fresh when the claim lands.
    setSettings(SETTINGS.replace('presence: 4s', 'presence: 60s'), join(bus.dir, 'person'));
    const bHome = await bus.addNode('b', [], ['--runner', 'shell']);
    const b = startWatcher(bHome, [], children);
    await until('b to start', () => b.events().some((e) => e.type === 'started'), 30_000, () => b.stderr());
    // b watches a's idle beat stand still longer than the lease: by its beat alone a is silent to b.
    await until('b to see a still for longer than the lease', () => {
      try {
        const obs = JSON.parse(readFileSync(join(bHome, 'liveness.json'), 'utf8')) as { listedAt: number; nodes: Record<string, { counted: number }> };
        return obs.listedAt - (obs.nodes['a']?.counted ?? obs.listedAt) > 3_000;
      } catch {
        return false;
      }
    }, 20_000);
    // b's task runs until a has claimed (a bounded wait on a gate file): however slow the machine, b has no free
    // slot to take a's task from it.
    const gate = join(bus.dir, 'b-gate');
    const busy = await bus.dispatch('boss', ['keeps b busy', '--command', `i=0; while [ ! -e '${gate}' ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i+1)); done`, '--to', 'b']);
    await until('b to take its task', () => b.events().some((e) => e.type === 'claimed' && e.id === busy), 20_000, () => b.stderr());
    await beatOlderThan('a', 1_500);
    const id = await bus.dispatch('boss', ['taken by a after idling', '--command', 'sleep 3; echo done']);
    const both = () => `a: ${JSON.stringify(a.events())}\n${a.stderr()}\nb: ${JSON.stringify(b.events())}\n${b.stderr()}`;
    await until('a to claim it', () => a.events().some((e) => e.type === 'claimed' && e.id === id), 20_000, both);
    writeFileSync(gate, '');

    const log = updates();
    const claimAt = log.findIndex((u) => u.ref === 'refs/heads/main' && subject(u.oid).startsWith(`gitbus: claim ${id}`));
    const dispatchAt = log.findIndex((u) => u.ref === 'refs/heads/main' && subject(u.oid) === `gitbus: dispatch ${id}`);
    expect(dispatchAt).toBeGreaterThanOrEqual(0);
    expect(claimAt).toBeGreaterThan(dispatchAt);
    // Observers see a fresh beat with the claim: a's last beat before the claim landed is at most one heartbeat
    // (1 s) older than the claim — pushed just before it. Without the beat before a claim it would be older than
    // the 1.5 s waited above (no presence beat is due for a minute).
    const lastBeat = log.slice(0, claimAt).filter((u) => u.ref === 'refs/gitbus/heartbeats/a').at(-1);
    expect(lastBeat).toBeDefined();
    const claimFile = gitCli(['--git-dir', bus.remote, 'show', `${log[claimAt]?.oid ?? ''}:claims/${id}.1.md`]);
    const claimedAt = Date.parse(/^claimed: (.+)$/m.exec(claimFile)?.[1] ?? '');
    expect(claimedAt - beatTime(lastBeat?.oid ?? '')).toBeLessThanOrEqual(1_200);

    await until('a to finish it', () => a.events().some((e) => e.type === 'finished' && e.id === id), 30_000, () => a.stderr());
    await until('b to finish its own', () => b.events().some((e) => e.type === 'finished' && e.id === busy), 30_000, () => b.stderr());
    const shown = json<{ state: string; files: { path: string }[] }>(await gitbus(['show', id, '--json'], { home: bus.home('boss') }));
    expect(shown.state).toBe('succeeded');
    expect(shown.files.filter((f) => f.path.startsWith('claims/'))).toHaveLength(1);
    expect(b.events().some((e) => e.type === 'claimed' && e.id === id)).toBe(false);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  }, 90_000);
});

describe('a person\'s claim', () => {
  it('made by hand on an idle watcher\'s node makes that watcher beat for the lease, not at the presence interval', async () => {
    // A manual task: no watcher runs it; a person on node a claims it.
    const id = await bus.dispatch('boss', ['done by hand']);
    const claimed = await gitbus(['claim', id, '--json'], { home: aHome });
    expect(claimed.code, claimed.stderr).toBe(0);
    const after = beatsOf('a').length;
    await until('three beats of a after the claim', () => beatsOf('a').length >= after + 3, 20_000, () => a.stderr());
    const times = beatsOf('a').slice(after, after + 3).map((b) => beatTime(b.oid));
    // Presence is 4 s; a node holding claims beats every heartbeat (1 s) once its watcher has seen the claim.
    expect((times[2] ?? 0) - (times[1] ?? 0)).toBeLessThan(2_500);
    expect(beatYaml(beatsOf('a').at(-1)?.oid ?? '')).toMatch(/^every: 1s$/m);
    expect((await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'by hand'], { home: aHome })).code).toBe(0);
  }, 30_000);
});

describe('status and doctor', () => {
  type Budgeted = { budget: { over: boolean; expectedPerMin: number; budget: { pushesPerMin: number; source: string }; advice: string[] } };
  it('report the fleet within its budget, then over it when gitbus.yaml allows fewer pushes than its beats take', async () => {
    const boss = bus.home('boss');
    const within = json<Budgeted>(await gitbus(['status', '--json'], { home: boss }));
    expect(within.budget).toMatchObject({ over: false, budget: { pushesPerMin: 120, source: 'local default' } });

    setSettings(`${SETTINGS}pushBudget: 1\n`, join(bus.dir, 'person'));
    const over = json<Budgeted>(await gitbus(['status', '--json'], { home: boss }));
    expect(over.budget).toMatchObject({ over: true, budget: { pushesPerMin: 1, source: 'settings' } });
    expect(over.budget.expectedPerMin).toBeGreaterThan(1);
    expect(over.budget.advice.join('\n')).toMatch(/presence/);
    const text = (await gitbus(['status'], { home: boss })).stdout;
    expect(text).toMatch(/push budget: .* budget 1\/min \(settings\)/);
    expect(text).toContain('OVER BUDGET');

    const doctor = json<{ checks: { name: string; status: string; detail: string; fix: string | null }[] }>(await gitbus(['doctor', '--json'], { home: boss }));
    const check = doctor.checks.find((c) => c.name === 'budget');
    expect(check).toMatchObject({ status: 'warn' });
    expect(check?.detail).toMatch(/over the push budget/);
    expect(check?.fix).toMatch(/presence|shard/);
  }, 60_000);
});
