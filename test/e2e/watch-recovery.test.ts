import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, gitbus, gitCli, json } from '../helpers/cli.js';
import { pushFiles } from '../helpers/push-access.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';
import { groupAlive } from '../helpers/process-group.js';
import { showInProcess, statusInProcess } from '../helpers/in-process.js';

type Shown = { state: string; files: { path: string; text: string }[] };


const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

function startWatcher(home: string, args: string[] = []): { child: ChildProcess; lines: () => string[]; explain: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'watch', '--json', '--poll', '1s', ...args], { env: { ...process.env, GITBUS_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  const started = Date.now();
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': at 'exit' the child's last lines may still be in the pipe, unread (Node's child_process docs).
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  // What the watcher said, for a timeout's message: its events and its stderr.
  const explain = () => `watcher ${home} (started ${Date.now() - started} ms ago):\n${out.slice(-6000)}\nstderr:\n${err.slice(-3000)}`;
  return { child, lines: () => out.split('\n').filter(Boolean), explain, exited };
}

/** A node's liveness observations (bus/model/liveness.ts), for a timeout's message. */
const livenessOf = (home: string): string => {
  try {
    return readFileSync(join(home, 'liveness.json'), 'utf8');
  } catch (err) {
    return String(err);
  }
};
/** main in a node's clone and on the remote, for a timeout's message. */
const cloneAndRemote = (home: string, remote: string): string => {
  const head = (gitDir: string) => {
    try {
      return execFileSync('git', ['--git-dir', gitDir, 'log', '-3', '--format=%h %s', 'refs/heads/main'], { encoding: 'utf8' });
    } catch (err) {
      return String(err);
    }
  };
  return `clone main:\n${head(join(home, 'clone.git'))}remote main:\n${head(remote)}`;
};
/** A process's descendants as ps shows them, for a timeout's message. */
const childrenOf = (pid: number): string => {
  try {
    return execFileSync('ps', ['-o', 'pid,ppid,etime,args', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch (err) {
    return String(err);
  }
};
const events = (w: { lines: () => string[] }) => w.lines().map((l) => JSON.parse(l) as { type: string; id?: string; attempt?: number; status?: string });
// Reading tasks back is not what these tests are about (the watchers are): in this process, as `show --json` reads.
const show = (home: string, id: string) => showInProcess<Shown>(home, id);

// Every test has its own bus and watchers, and spends its time waiting on leases, runs and wake-ups: they run side
// by side (the describe blocks too).
/** Leases: a node silent past the lease loses its claims, by the observer's own clock. */
describe.concurrent('watcher recovery', () => {
  it('kill -9 of a watcher mid-task: another node reclaims it with the next attempt and finishes it', async () => {
    const bus = await makeBus({ node: 'boss', initArgs: ['--lease', '3s', '--heartbeat', '1s'] });
    cleanups.push(bus.cleanup);
    const a = await bus.addNode('a', [], ['--runner', 'shell']);
    const b = await bus.addNode('b', [], ['--runner', 'shell']);
    // The first attempt runs until a is gone (a bounded wait on a gate opened after the kill): however slow the
    // machine, a cannot finish it first. The second runs straight through.
    const gate = join(bus.dir, 'a-killed');
    const id = await bus.dispatch('boss', ['outlives its first node', '--command', `i=0; while [ "$GITBUS_ATTEMPT" = 1 ] && [ ! -e '${gate}' ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i+1)); done; echo finished`]);
    const wa = startWatcher(a);
    await until('a to claim', () => events(wa).some((e) => e.type === 'claimed' && e.id === id));
    // The boss starts observing heartbeats now; by its own clock, a is alive.
    type StatusNodes = { nodes: { node: string; liveness: string }[] };
    const first = json<StatusNodes>(await gitbus(['status', '--json'], { home: bus.home('boss') }));
    expect(first.nodes.find((n) => n.node === 'a')?.liveness).toBe('alive');
    expect(first.nodes.find((n) => n.node === 'boss')?.liveness).toBe('unleased');
    wa.child.kill('SIGKILL');
    await wa.exited;
    writeFileSync(gate, '');
    const wb = startWatcher(b);
    await until('b to finish the task', () => events(wb).some((e) => e.type === 'finished' && e.id === id), 90_000, () => `${wb.explain()}\nb's observations: ${livenessOf(b)}\n${cloneAndRemote(b, bus.remote)}\nb's processes: ${childrenOf(wb.child.pid ?? 0)}`);
    // The same status read in this process: a status command every 200 ms was most of this wait's CPU.
    await until('the boss to see a as silent', async () => {
      const s = await statusInProcess<StatusNodes>(bus.home('boss'));
      return s.nodes.find((n) => n.node === 'a')?.liveness === 'silent' && s.nodes.find((n) => n.node === 'b')?.liveness === 'alive';
    }, 20_000);
    const shown = await show(bus.home('boss'), id);
    expect(shown.state).toBe('succeeded');
    const claim2 = shown.files.find((f) => f.path === `claims/${id}.2.md`)?.text ?? '';
    expect(claim2).toContain('node: b');
    expect(claim2).toMatch(/reclaims:\n\s+attempt: 1\n\s+node: a/);
    expect(events(wb).find((e) => e.type === 'claimed' && e.id === id)).toMatchObject({ attempt: 2, reclaimed: true });
    const response = shown.files.find((f) => f.path === `responses/${id}.md`)?.text ?? '';
    expect(response).toContain('node: b');
    expect(response).toContain('attempt: 2');
    wb.child.kill('SIGTERM');
    expect(await wb.exited).toBe(0);
  }, 120_000);

  it('a task whose last attempt dies with its node fails, with a response that says why', async () => {
    const bus = await makeBus({ node: 'boss', initArgs: ['--lease', '2s', '--heartbeat', '1s', '--max-attempts', '1'] });
    cleanups.push(bus.cleanup);
    const a = await bus.addNode('a', [], ['--runner', 'shell']);
    const b = await bus.addNode('b', [], ['--runner', 'shell']);
    const id = await bus.dispatch('boss', ['only one try', '--command', 'sleep 30']);
    const wa = startWatcher(a);
    await until('a to claim', () => events(wa).some((e) => e.type === 'claimed' && e.id === id));
    wa.child.kill('SIGKILL');
    const wb = startWatcher(b);
    await until('b to reap the task', () => events(wb).some((e) => e.type === 'reaped' && e.id === id), 90_000, wb.explain);
    const shown = await show(bus.home('boss'), id);
    expect(shown.state).toBe('failed');
    const response = shown.files.find((f) => f.path === `responses/${id}.md`)?.text ?? '';
    expect(response).toMatch(/reason: .*node a went silent/);
    expect(response).toContain('node: b');
    wb.child.kill('SIGTERM');
    expect(await wb.exited).toBe(0);
  }, 120_000);

  it('cancel stops a running task on whichever node runs it, and the response says cancelled, by whom and why', async () => {
    // A 30 s heartbeat: the cancel must be noticed through the wake-up, not at the next beat.
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker', [], ['--runner', 'shell']);
    const id = await bus.dispatch('boss', ['runs until cancelled', '--command', 'sleep 60']);
    const ww = startWatcher(w);
    await until('the worker to claim', () => events(ww).some((e) => e.type === 'claimed' && e.id === id));
    const c = await gitbus(['cancel', id, '--json', '--reason', 'wrong branch: use release/2.1'], { home: bus.home('boss') });
    expect(json(c)).toMatchObject({ state: 'cancelling' });
    await until('the run to stop', () => events(ww).some((e) => e.type === 'finished' && e.id === id), 30_000);
    expect(events(ww).find((e) => e.type === 'finished' && e.id === id)?.status).toBe('cancelled');
    const shown = await show(bus.home('boss'), id);
    expect(shown.state).toBe('cancelled');
    const by = /by: (.+)/.exec(shown.files.find((f) => f.path === `cancels/${id}.md`)?.text ?? '')?.[1]?.trim() ?? '';
    expect(by).toMatch(/@boss$/);
    const response = shown.files.find((f) => f.path === `responses/${id}.md`)?.text ?? '';
    expect(response).toContain('status: cancelled');
    expect(response).toMatch(new RegExp(`reason: .*cancelled by ${by}: wrong branch: use release/2\\.1 \\(stopped on request\\)`));
    expect(response).toContain(`was cancelled after`);
    expect(response).toContain(`by ${by}: wrong branch: use release/2.1.`);
    // The person reading it with show (text) sees the reason too.
    const text = await gitbus(['show', id], { home: bus.home('boss') });
    expect(text.stdout).toContain(`cancelled by ${by}: wrong branch: use release/2.1`);
    ww.child.kill('SIGTERM');
    expect(await ww.exited).toBe(0);
  }, 90_000);

  it('a watcher restarted after kill -9 stops the run it left behind and gives the claim back at once', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker', [], ['--runner', 'shell']);
    const id = await bus.dispatch('boss', ['left behind', '--command', 'sleep 120']);
    const first = startWatcher(w);
    await until('the claim', () => events(first).some((e) => e.type === 'claimed' && e.id === id));
    const { readdirSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const recordName = () => {
      try {
        return readdirSync(join(w, 'running')).find((n) => n.endsWith('.json') && !n.startsWith('.'));
      } catch {
        return undefined;
      }
    };
    await until('the run record', () => recordName() !== undefined);
    const record = JSON.parse(readFileSync(join(w, 'running', recordName() as string), 'utf8')) as { pid: number };
    first.child.kill('SIGKILL');
    await first.exited;
    expect(groupAlive(record.pid)).toBe(true);
    const second = startWatcher(w, ['--grace', '1s']);
    await until('the release', () => events(second).some((e) => e.type === 'released' && e.id === id));
    await until('the leftover run to be stopped', () => !groupAlive(record.pid), 10_000);
    // The task went back to the queue and this node took it again, as attempt 2.
    await until('attempt 2', () => events(second).some((e) => e.type === 'claimed' && e.id === id && e.attempt === 2));
    const shown = await show(bus.home('boss'), id);
    expect(shown.files.find((f) => f.path === `releases/${id}.1.md`)?.text).toContain('restarted');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(events(second).some((e) => e.type === 'released' && e.id === id && e.attempt === 2)).toBe(true);
  }, 90_000);
});

describe.concurrent('following work', () => {
  it('logs shows a running task\'s output from another node, and dispatch --wait shows progress and the result', async () => {
    const bus = await makeBus({ node: 'boss', initArgs: ['--lease', '10s', '--heartbeat', '1s'] });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker', [], ['--runner', 'shell']);
    const ww = startWatcher(w, ['--grace', '1s']);
    const id = await bus.dispatch('boss', ['talks, then waits', '--command', 'echo first line; sleep 60']);
    // Waiting reads the worker's heartbeat on the bare remote (a git process, not a logs command every 200 ms);
    // then logs, from the boss, must find it there.
    const beatLog = () => {
      try {
        return execFileSync('git', ['--git-dir', bus.remote, 'show', `refs/gitbus/heartbeats/worker:logs/${id}.1.log`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      } catch {
        return '';
      }
    };
    await until('the first line to reach the heartbeat', () => beatLog().includes('first line'));
    const fromBoss = json<{ source: string; text: string; node: string }>(await gitbus(['logs', id, '--json'], { home: bus.home('boss') }));
    expect(fromBoss).toMatchObject({ source: 'heartbeat', node: 'worker' });
    expect(fromBoss.text).toContain('first line');
    const local = json<{ source: string; text: string }>(await gitbus(['logs', id, '--json'], { home: w }));
    expect(local).toMatchObject({ source: 'local', text: 'first line\n' });
    await gitbus(['cancel', id], { home: bus.home('boss') });

    const ok = await gitbus(['dispatch', 'quick', '--command', 'echo all good', '--wait', '--no-git'], { home: bus.home('boss'), timeoutMs: 60_000 });
    expect(ok.code, ok.stderr).toBe(0);
    // The first state it sees: pending, or already claimed when the watcher (woken by the push) was quicker.
    expect(ok.stderr).toMatch(/: (pending|claimed on worker \(attempt 1\))\n/);
    expect(ok.stderr).toMatch(/: succeeded on worker \(attempt 1\)/);
    expect(ok.stdout).toContain('all good');
    const bad = await gitbus(['dispatch', 'fails', '--command', 'echo nope; exit 4', '--wait', '--no-git', '--json'], { home: bus.home('boss'), timeoutMs: 60_000 });
    expect(bad.code).toBe(9);
    expect(json(bad)).toMatchObject({ state: 'failed', node: 'worker', output: 'nope\n', reason: 'exit code 4', truncated: false });
    // A task that could not run: why is said at the end, as show and run say it, not only "failed".
    const nowhere = await gitbus(['dispatch', 'wd', '--to', 'worker', '--command', 'pwd', '--workdir', 'nope/dir', '--no-git', '--wait'], { home: bus.home('boss'), timeoutMs: 60_000 });
    expect(nowhere.code).toBe(9);
    expect(nowhere.stderr).toMatch(/: failed on worker \(attempt 1\)\ngitbus: \S+ ended failed on worker: workdir "nope\/dir" does not exist on this node \(under .*\)\n$/);
    const nowhereJson = json<{ reason: string; ended: boolean }>(await gitbus(['dispatch', 'wd', '--to', 'worker', '--command', 'pwd', '--workdir', 'nope/dir', '--no-git', '--wait', '--json'], { home: bus.home('boss'), timeoutMs: 60_000 }));
    expect(nowhereJson).toMatchObject({ ended: true, reason: expect.stringMatching(/^workdir "nope\/dir" does not exist on this node/) });
    ww.child.kill('SIGTERM');
    expect(await ww.exited).toBe(0);
  }, 120_000);
});

describe.concurrent('wake-ups', () => {
  it('a push to a local remote wakes an idle watcher at once, long before its next poll', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker', [], ['--runner', 'shell']);
    const child = spawn(process.execPath, [BIN, 'watch', '--json', '--poll', '10m'], { env: { ...process.env, GITBUS_HOME: w }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await until('the watcher to start', () => out.includes('"started"'));
    const id = await bus.dispatch('boss', ['wake up', '--command', 'true']);
    // The poll is 10 minutes away: only the file-system event can explain a claim within a minute (the bound leaves
    // room for a machine busy with the rest of the suite, which once took over 15 s here).
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await until('the claim', () => out.includes(`"claimed","id":"${id}"`), 60_000, () => `watcher stdout:\n${out}\nstderr:\n${err}`);
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }, 120_000);
});

describe.concurrent('offline', () => {
  it('results made while the remote is unreachable are kept and all arrive once it is back: none lost, none doubled', async () => {
    const { renameSync } = await import('node:fs');
    const bus = await makeBus({ node: 'boss', initArgs: ['--lease', '5m', '--heartbeat', '1s'] });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker', [], ['--runner', 'shell', '--parallel', '3']);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await bus.dispatch('boss', [`offline ${i}`, '--command', `sleep 2; echo result ${i}`]));
    const ww = startWatcher(w);
    await until('all three claimed', () => ids.every((id) => events(ww).some((e) => e.type === 'claimed' && e.id === id)));
    // The remote goes away while the runs are in flight (a laptop leaving the VPN, a mount dropping).
    const away = `${bus.remote}.away`;
    renameSync(bus.remote, away);
    await until('the results to be queued', () => ids.every((id) => events(ww).some((e) => e.type === 'queued' && e.id === id)), 30_000);
    const { readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    expect(readdirSync(join(w, 'outbox')).filter((n) => n.endsWith('.json')).length).toBe(3);
    renameSync(away, bus.remote);
    await until('the results to be delivered', () => ids.every((id) => events(ww).some((e) => e.type === 'delivered' && e.id === id)), 30_000);
    for (const [i, id] of ids.entries()) {
      const shown = await show(bus.home('boss'), id);
      expect(shown.state).toBe('succeeded');
      expect(shown.files.filter((f) => f.path.startsWith('responses/')).length).toBe(1);
      expect(shown.files.find((f) => f.path.startsWith('responses/'))?.text).toContain(`result ${i}`);
    }
    expect(events(ww).filter((e) => e.type === 'delivered').length).toBe(3);
    expect(readdirSync(join(w, 'outbox')).filter((n) => n.endsWith('.json'))).toEqual([]);
    ww.child.kill('SIGTERM');
    expect(await ww.exited).toBe(0);
  }, 90_000);
});

describe.concurrent('recurring work', () => {
  it('a schedule yields exactly one instance per due time with three watchers and no leader', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const homes: string[] = [];
    for (const n of ['r1', 'r2', 'r3']) homes.push(await bus.addNode(n, [], ['--runner', 'shell']));
    // A schedule is to the minute: a template made two minutes ago is due at once, so the three watchers, started
    // together, race for the same due time as they start.
    const work = join(bus.dir, 'hand');
    gitCli(['clone', '-q', '-b', 'main', bus.remote, work]);
    const created = new Date(Date.now() - 120_000).toISOString();
    pushFiles(work, { 'handoffs/tick.md': `---\ntitle: every minute\ncommand: echo tick\nschedule: "* * * * *"\ncreated: ${created}\n---\n` }, 'a schedule');
    const ws = homes.map((h) => startWatcher(h));
    const started = Date.now();
    const instances = () => {
      const seen = new Map<string, number>();
      for (const w of ws) for (const e of events(w) as { type: string; id?: string }[]) if (e.type === 'scheduled' && e.id) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
      return seen;
    };
    await until('an instance', () => instances().size >= 1, 30_000);
    // Every watcher has fetched the commit that made it, so each is past its try at that due time: a second instance
    // of it, made by a watcher that lost the race, would be among the events by now.
    const first = [...instances().keys()][0] ?? '';
    const made = gitCli(['--git-dir', bus.remote, 'log', '-1', '--format=%H', 'main', '--', `handoffs/${first}.md`]).trim();
    const fetched = (home: string) => {
      try {
        execFileSync('git', ['--git-dir', join(home, 'clone.git'), 'merge-base', '--is-ancestor', made, 'refs/heads/main'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    };
    await until('every watcher to fetch the instance', () => homes.every(fetched), 20_000, () => homes.map((h) => cloneAndRemote(h, bus.remote)).join('\n'));
    for (const w of ws) w.child.kill('SIGTERM');
    await Promise.all(ws.map((w) => w.exited));
    const elapsed = (Date.now() - started) / 1000;
    const seen = instances();
    // Each instance was dispatched by exactly one watcher, and no due time has two instances.
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    const stamps = [...seen.keys()].map((id) => id.slice('tick-'.length));
    expect(new Set(stamps).size).toBe(stamps.length);
    for (const s of stamps) expect(s.slice(-2)).toBe('00');
    expect(seen.size).toBeLessThanOrEqual(Math.ceil(elapsed / 60) + 1);
    const s = await statusInProcess<{ tasks: { id: string; state: string }[] }>(bus.home('boss'));
    expect(s.tasks.find((t) => t.id === 'tick')?.state).toBe('scheduled');
    const handoffs = gitCli(['--git-dir', bus.remote, 'ls-tree', '--name-only', 'main', 'handoffs/']).trim().split('\n');
    expect(handoffs.filter((h) => h.startsWith('handoffs/tick-')).sort()).toEqual([...seen.keys()].map((id) => `handoffs/${id}.md`).sort());
    expect(gitCli(['--git-dir', bus.remote, 'ls-tree', '--name-only', 'main', 'claims/'])).not.toContain('claims/tick.');
  }, 60_000);
});
