import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { alive, until } from '../helpers/wait.js';
import { statusInProcess } from '../helpers/in-process.js';

type Shown = { state: string; files: { path: string; text: string }[] };

function startWatcher(home: string, args: string[] = []): { child: ChildProcess; lines: () => string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'watch', '--json', '--poll', '1s', ...args], { env: { ...process.env, GITBUS_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': at 'exit' the child's last lines may still be in the pipe, unread (Node's child_process docs).
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, lines: () => out.split('\n').filter(Boolean), exited };
}

const cleanups: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];
const leftovers: number[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const pid of leftovers) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const c of cleanups) await c();
});

// Every test has its own bus and watchers: they run side by side.
describe.concurrent('gitbus watch', () => {
  it('applies a changed heartbeat and poll from gitbus.yaml without a restart', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker', [], ['--runner', 'shell']);
    const watcher = startWatcher(w);
    await until('the watcher to start', () => watcher.lines().some((l) => l.includes('"type":"started"')), 30_000);
    expect(watcher.lines().find((l) => l.includes('"type":"started"'))).toContain('"heartbeatMs":30000');
    // A person edits the settings with plain git, as with any bus file.
    const work = join(bus.dir, 'settings-edit');
    gitCli(['clone', '-q', bus.remote, work]);
    const yaml = readFileSync(join(work, 'gitbus.yaml'), 'utf8');
    writeFileSync(join(work, 'gitbus.yaml'), yaml.replace('heartbeat: 30s', 'heartbeat: 1s').replace('poll: 30s', 'poll: 2s'));
    gitCli(['commit', '-q', '-am', 'faster heartbeats'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    await until('the settings event', () => watcher.lines().some((l) => l.includes('"type":"settings"')), 30_000);
    // --poll 1s on the command line wins over the file's poll; the heartbeat follows the file.
    expect(JSON.parse(watcher.lines().find((l) => l.includes('"type":"settings"')) ?? '{}')).toEqual({ type: 'settings', pollMs: 1000, heartbeatMs: 1000 });
    // The heartbeat ref now moves about every second.
    const beats = new Set<string>();
    await until('three new heartbeats', () => {
      beats.add(gitCli(['--git-dir', bus.remote, 'rev-parse', 'refs/gitbus/heartbeats/worker']).trim());
      return beats.size >= 4;
    }, 15_000);
    watcher.child.kill('SIGTERM');
    expect(await watcher.exited).toBe(0);
  });

  it('runs a task under a named work root of node.yaml when its workdir starts with the root\'s name', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker', [], ['--runner', 'shell']);
    const projects = join(bus.dir, 'projects');
    mkdirSync(join(projects, 'gitbus'), { recursive: true });
    writeFileSync(join(w, 'node.yaml'), `${readFileSync(join(w, 'node.yaml'), 'utf8')}workRoots:\n  src: ${projects}\n`);
    const named = await bus.dispatch('boss', ['where am I', '--command', 'pwd', '--workdir', 'src/gitbus']);
    const plain = await bus.dispatch('boss', ['and here', '--command', 'pwd']);
    const bad = await bus.dispatch('boss', ['not there', '--command', 'pwd', '--workdir', 'src/missing']);
    const r = await gitbus(['watch', '--once', '--json'], { home: w });
    expect(r.code, r.stderr).toBe(0);
    const output = async (id: string) => json<{ state: string; files: { path: string; text: string }[] }>(await gitbus(['show', id, '--json'], { home: bus.home('boss') }));
    expect((await output(named)).files.find((f) => f.path.startsWith('responses/'))?.text).toContain(join(projects, 'gitbus'));
    expect((await output(plain)).files.find((f) => f.path.startsWith('responses/'))?.text).toContain(join(w, 'work'));
    const refused = await output(bad);
    expect(refused.state).toBe('failed');
    expect(refused.files.find((f) => f.path.startsWith('responses/'))?.text).toContain(`workdir "src/missing" does not exist on this node (under ${projects})`);

    // doctor lists the roots, and warns about one that is missing.
    type Report = { checks: { name: string; status: string; detail: string; fix: string | null }[] };
    const roots = (r: Report) => r.checks.find((c) => c.name === 'work.roots');
    expect(roots(json<Report>(await gitbus(['doctor', '--json'], { home: w })))).toMatchObject({ status: 'ok', detail: expect.stringContaining(`src = ${projects}`) });
    writeFileSync(join(w, 'node.yaml'), `${readFileSync(join(w, 'node.yaml'), 'utf8')}  data: ${join(bus.dir, 'no-data')}\n`);
    expect(roots(json<Report>(await gitbus(['doctor', '--json'], { home: w })))).toMatchObject({ status: 'warn', detail: expect.stringContaining(`missing: data (${join(bus.dir, 'no-data')})`) });
  });

  it('removes task logs older than --keep-logs (default 14 days), and temp objects killed processes left, when it starts', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker', [], ['--runner', 'shell']);
    const logs = join(w, 'logs');
    mkdirSync(logs, { recursive: true });
    const old = (Date.now() - 20 * 24 * 3600_000) / 1000;
    for (const name of ['20261001-000000-oldold.1.log', '20261101-000000-newnew.1.log']) writeFileSync(join(logs, name), 'x\n');
    utimesSync(join(logs, '20261001-000000-oldold.1.log'), old, old);
    utimesSync(join(logs, '20261101-000000-newnew.1.log'), old + 10 * 24 * 3600, old + 10 * 24 * 3600);
    const kept = await gitbus(['watch', '--once', '--keep-logs', '0', '--json'], { home: w });
    expect(kept.code, kept.stderr).toBe(0);
    expect(readdirSync(logs).sort()).toEqual(['20261001-000000-oldold.1.log', '20261101-000000-newnew.1.log']);
    // A temp object of a process killed mid-write (bus/leftovers.ts): its pid is gone, and it is old.
    const dead = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    mkdirSync(join(w, 'clone.git', 'objects', '0f'), { recursive: true });
    const tmpObj = join(w, 'clone.git', 'objects', '0f', `tmp_obj_gitbus_${dead}_abc123`);
    writeFileSync(tmpObj, 'x');
    utimesSync(tmpObj, old, old);
    const pruned = await gitbus(['watch', '--once', '--json'], { home: w });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(readdirSync(logs)).toEqual(['20261101-000000-newnew.1.log']);
    expect(existsSync(tmpObj)).toBe(false);
  });

  it('--once runs shell tasks and reports success, failure and timeout; a node without runners refuses', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker');
    const ok = await bus.dispatch('boss', ['say hi', '--command', 'echo "hello from $GITBUS_TASK_ID"; echo to-stderr >&2']);
    const bad = await bus.dispatch('boss', ['fail', '--command', 'exit 3']);
    const slow = await bus.dispatch('boss', ['too slow', '--command', 'sleep 30', '--timeout', '1s']);

    const refused = await gitbus(['watch', '--once'], { home: w });
    expect(refused.code).toBe(7);
    expect(refused.stderr).toContain('runners: [shell]');

    const worker = await bus.addNode('runner', []);
    // Enable the shell runner the way a person would: in node.yaml.
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(join(worker, 'node.yaml'), readFileSync(join(worker, 'node.yaml'), 'utf8').replace('runners: []', 'runners: [shell]'));
    const r = await gitbus(['watch', '--once', '--json'], { home: worker, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const ran = json<{ ran: { id: string; status: string; exitCode: number | null }[] }>(r).ran;
    // The watcher republished the node card to match the edited node.yaml.
    expect(gitCli(['--git-dir', bus.remote, 'show', 'main:nodes/runner.md'])).toContain('runners: [manual, shell]');
    expect(ran.map((t) => t.id).sort()).toEqual([ok, bad, slow].sort());

    const show = async (id: string) => json<Shown>(await gitbus(['show', id, '--json'], { home: bus.home('boss') }));
    const okShown = await show(ok);
    expect(okShown.state).toBe('succeeded');
    const okResponse = okShown.files.find((f) => f.path.startsWith('responses/'))?.text ?? '';
    expect(okResponse).toContain('exitCode: 0');
    expect(okResponse).toContain(`hello from ${ok}`);
    expect(okResponse).toContain('to-stderr');
    expect(okResponse).toContain('runner: shell');
    const badShown = await show(bad);
    expect(badShown.state).toBe('failed');
    expect(badShown.files.find((f) => f.path.startsWith('responses/'))?.text).toContain('exitCode: 3');
    const slowShown = await show(slow);
    expect(slowShown.state).toBe('timed-out');
    expect(ran.find((t) => t.id === slow)?.status).toBe('timed-out');
  });

  it('a shell task is over when its command exits: what it left running in the background is stopped with it', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker', [], ['--runner', 'shell']);
    const pidFile = join(bus.dir, 'sleeper.pid');
    const id = await bus.dispatch('boss', ['leaves a child', '--command', `sleep 120 & echo $! > '${pidFile}'; echo started`]);
    const r = await gitbus(['watch', '--once', '--json'], { home: w, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ ran: { id: string; status: string }[] }>(r).ran).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    leftovers.push(sleeper);
    await until('the background sleep to be stopped', () => !alive(sleeper), 10_000);
  });

  it('a workdir that does not exist on the node fails with the reason instead of stalling', async () => {
    const bus = await makeBus({ node: 'solo' });
    cleanups.push(bus.cleanup);
    const home = bus.home('solo');
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(join(home, 'node.yaml'), readFileSync(join(home, 'node.yaml'), 'utf8').replace('runners: []', 'runners: [shell]'));
    const work = join(bus.dir, 'person');
    gitCli(['clone', '-q', bus.remote, work]);
    mkdirSync(join(work, 'handoffs'));
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(work, 'handoffs', 'in-missing-dir.md'), '---\ntitle: runs in a folder this node lacks\ncommand: pwd\nworkdir: projects/absent\n---\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'task with workdir'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const r = await gitbus(['watch', '--once', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const shown = json<Shown>(await gitbus(['show', 'in-missing-dir', '--json'], { home }));
    expect(shown.state).toBe('failed');
    expect(shown.files.find((f) => f.path.startsWith('responses/'))?.text).toContain('projects/absent');
  });

  it('three watchers share the queue; every task is answered exactly once; SIGTERM stops them cleanly', async () => {
    const bus = await makeBus({ node: 'dispatcher' });
    cleanups.push(bus.cleanup);
    const homes: string[] = [];
    for (const n of ['w1', 'w2', 'w3']) {
      const { readFileSync, writeFileSync } = await import('node:fs');
      const h = await bus.addNode(n);
      writeFileSync(join(h, 'node.yaml'), readFileSync(join(h, 'node.yaml'), 'utf8').replace('runners: []', 'runners: [shell]'));
      homes.push(h);
    }
    const watchers = homes.map((h) => startWatcher(h));
    children.push(...watchers.map((w) => w.child));
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await bus.dispatch('dispatcher', [`task ${i}`, '--command', `echo task ${i} on $(basename "$GITBUS_HOME")`]));
    await until('every task to be answered', async () => {
      const s = await statusInProcess<{ tasks: { id: string; state: string }[] }>(bus.home('dispatcher'));
      return ids.every((id) => s.tasks.find((t) => t.id === id)?.state === 'succeeded');
    });
    for (const w of watchers) w.child.kill('SIGTERM');
    const codes = await Promise.all(watchers.map((w) => w.exited));
    expect(codes).toEqual([0, 0, 0]);
    const finishedBy = new Map<string, number>();
    for (const w of watchers) {
      const events = w.lines().map((l) => JSON.parse(l) as { type: string; id?: string });
      expect(events.at(-1)?.type).toBe('stopped');
      for (const e of events) if (e.type === 'finished' && e.id) finishedBy.set(e.id, (finishedBy.get(e.id) ?? 0) + 1);
    }
    expect([...finishedBy.keys()].sort()).toEqual([...ids].sort());
    expect([...finishedBy.values()].every((n) => n === 1)).toBe(true);
    const claims = gitCli(['--git-dir', bus.remote, 'ls-tree', '--name-only', 'main', 'claims/']).trim().split('\n');
    expect(claims.sort()).toEqual(ids.map((id) => `claims/${id}.1.md`).sort());
  });

  it('--once stopped by SIGTERM lets a run finish within the grace period and delivers its result', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const h = await bus.addNode('worker', [], ['--runner', 'shell']);
    const begun = join(bus.dir, 'begun');
    const id = await bus.dispatch('boss', ['short', '--command', `echo start; touch '${begun}'; sleep 3; echo end`]);
    const child = spawn(process.execPath, [BIN, 'watch', '--once', '--json'], { env: { ...process.env, GITBUS_HOME: h }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await until('the task to start', () => existsSync(begun), 30_000);
    child.kill('SIGTERM');
    expect(await exited, out).toBe(0);
    expect(out).not.toContain('outbox');
    const shown = json<Shown>(await gitbus(['show', id, '--json'], { home: bus.home('boss') }));
    expect(shown.state, out).toBe('succeeded');
    expect(shown.files.find((f) => f.path.startsWith('responses/'))?.text).toContain('end');
  });

  it('on SIGTERM a task still running after the grace period is stopped and released for another node', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const { readFileSync, writeFileSync } = await import('node:fs');
    const h = await bus.addNode('leaver');
    writeFileSync(join(h, 'node.yaml'), readFileSync(join(h, 'node.yaml'), 'utf8').replace('runners: []', 'runners: [shell]'));
    const id = await bus.dispatch('boss', ['long', '--command', 'sleep 60']);
    const w = startWatcher(h, ['--grace', '1s']);
    children.push(w.child);
    await until('the task to be claimed', async () => w.lines().some((l) => l.includes('"claimed"')));
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.lines().some((l) => l.includes('"released"'))).toBe(true);
    const shown = json<Shown>(await gitbus(['show', id, '--json'], { home: bus.home('boss') }));
    expect(shown.state).toBe('pending');
    expect(shown.files.map((f) => f.path)).toContain(`releases/${id}.1.md`);
  });
});
