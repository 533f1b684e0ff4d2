import { describe, it, expect, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, gitbus, gitCli, json, spawnBounded } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';

type Shown = { state: string; files: { path: string; text: string }[] };
type Ran = { ran: { id: string; status: string; exitCode: number | null }[] };

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux && process.env['CI'] === 'true') throw new Error('tmux is missing, and CI must run the tmux runner tests: install tmux');
if (!hasTmux) console.warn('tmux-runner tests skipped: tmux is not installed');

// Its own server, so the tests never see or touch the sessions of a person using this machine.
const SOCKET = join(tmpdir(), `gitbus-test-tmux-${process.pid}.sock`);
const env = { GITBUS_TMUX_SOCKET: SOCKET };

const tmux = (args: string[]) => spawnSync('tmux', ['-S', SOCKET, ...args], { encoding: 'utf8', timeout: 10_000 });
const hasSession = (id: string) => tmux(['has-session', '-t', `=gitbus-${id}`]).status === 0;


const cleanups: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  if (hasTmux) tmux(['kill-server']);
  rmSync(SOCKET, { force: true });
  for (const c of cleanups) await c();
});

// A 1 s heartbeat: a watcher with every slot busy notices a cancel at its heartbeat.
async function tmuxBus() {
  const bus = await makeBus({ node: 'boss', initArgs: ['--heartbeat', '1s'] });
  cleanups.push(bus.cleanup);
  const worker = await bus.addNode('worker', [], ['--runner', 'tmux']);
  const show = async (id: string) => json<Shown>(await gitbus(['show', id, '--json'], { home: bus.home('boss') }));
  const response = (s: Shown) => s.files.find((f) => f.path.startsWith('responses/'))?.text ?? '';
  const once = async () => {
    const r = await gitbus(['watch', '--once', '--json'], { home: worker, env });
    expect(r.code, r.stderr).toBe(0);
    return json<Ran>(r).ran;
  };
  return { bus, worker, show, response, once };
}

describe.skipIf(!hasTmux)('the tmux runner', () => {
  it('runs a task in a session that is gone afterwards; output and exit codes reach the response', async () => {
    const { bus, show, response, once } = await tmuxBus();
    const ok = await bus.dispatch('boss', ['say hi', '--runner', 'tmux', '--command', 'echo "hello from $GITBUS_TASK_ID attempt $GITBUS_ATTEMPT"; echo to-stderr >&2']);
    const bad = await bus.dispatch('boss', ['fail', '--runner', 'tmux', '--command', 'echo failing; exit 3']);
    const ran = await once();
    expect(ran.map((t) => t.id).sort()).toEqual([ok, bad].sort());

    const okShown = await show(ok);
    expect(okShown.state).toBe('succeeded');
    const okResponse = response(okShown);
    expect(okResponse).toContain('exitCode: 0');
    expect(okResponse).toContain('runner: tmux');
    expect(okResponse).toContain(`hello from ${ok} attempt 1`);
    expect(okResponse).toContain('to-stderr');
    expect(okResponse).not.toContain('\r');
    expect(hasSession(ok)).toBe(false);

    const badShown = await show(bad);
    expect(badShown.state).toBe('failed');
    expect(response(badShown)).toContain('exitCode: 3');
    expect(response(badShown)).toContain('failing');
    expect(ran.find((t) => t.id === bad)).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(hasSession(bad)).toBe(false);
  });

  it('a task is over when its command exits: what it left running, even nohup\'d, is stopped with it', async () => {
    const { bus, once } = await tmuxBus();
    const pidFile = join(bus.dir, 'sleeper.pid');
    const id = await bus.dispatch('boss', ['leaves a child', '--runner', 'tmux', '--command', `nohup sleep 120 >/dev/null 2>&1 & echo $! > '${pidFile}'; echo started`]);
    expect(await once()).toEqual([expect.objectContaining({ id, status: 'succeeded', exitCode: 0 })]);
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    const alive = () => spawnSync('kill', ['-0', String(sleeper)]).status === 0;
    await until('the nohup\'d sleep to be stopped', () => !alive(), 10_000);
  });

  it('keep: true leaves the session for a person to look at', async () => {
    const { bus, show, response, once } = await tmuxBus();
    // dispatch has no --keep: write the handoff by hand, as a person would.
    const work = join(bus.dir, 'person');
    gitCli(['clone', '-q', bus.remote, work]);
    mkdirSync(join(work, 'handoffs'), { recursive: true });
    await writeFile(join(work, 'handoffs', 'kept-one.md'), '---\ntitle: look at me afterwards\nrunner: tmux\ncommand: echo still here\nkeep: true\n---\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'a kept tmux task'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    await once();
    const shown = await show('kept-one');
    expect(shown.state).toBe('succeeded');
    expect(response(shown)).toContain('still here');
    expect(hasSession('kept-one')).toBe(true);
    // From the start of the history: tmux scrolls the screen to show "Pane is dead" below the output.
    expect(tmux(['capture-pane', '-p', '-S', '-', '-t', '=gitbus-kept-one:']).stdout).toContain('still here');
    expect(tmux(['kill-session', '-t', '=gitbus-kept-one']).status).toBe(0);
  });

  it('a timeout ends the session as timed-out', async () => {
    const { bus, show, once } = await tmuxBus();
    const slow = await bus.dispatch('boss', ['too slow', '--runner', 'tmux', '--command', 'echo started; sleep 30', '--timeout', '1s']);
    const ran = await once();
    expect(ran.find((t) => t.id === slow)).toMatchObject({ status: 'timed-out', exitCode: null });
    expect((await show(slow)).state).toBe('timed-out');
    expect(hasSession(slow)).toBe(false);
  });

  it('a command killed by a signal reports no exit code, as under the shell runner', async () => {
    const { bus, show, response, once } = await tmuxBus();
    const id = await bus.dispatch('boss', ['killed', '--runner', 'tmux', '--command', 'echo dying; kill -9 $$']);
    expect(await once()).toEqual([expect.objectContaining({ id, status: 'failed', exitCode: null })]);
    const text = response(await show(id));
    expect(text).toContain('reason: killed by a signal');
    expect(text).not.toContain('exitCode: 137');
  });

  it('a person can attach to a running task; gitbus cancel stops it and removes the session', async () => {
    const { bus, worker, show, response } = await tmuxBus();
    const id = await bus.dispatch('boss', ['long', '--runner', 'tmux', '--command', 'echo watch me; sleep 60']);
    const w = spawn(process.execPath, [BIN, 'watch', '--json', '--poll', '1s'], { env: { ...process.env, ...env, GITBUS_HOME: worker }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(w);
    let out = '';
    w.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => w.on('close', (code) => r(code)));

    await until('the session to show the output', () => hasSession(id) && tmux(['capture-pane', '-p', '-t', `=gitbus-${id}:`]).stdout.includes('watch me'));
    // The pid a restarted watcher would stop is the pane's.
    const recordPath = join(worker, 'running', `${id}.1.json`);
    await until('the run record', () => existsSync(recordPath));
    const record = JSON.parse(readFileSync(recordPath, 'utf8')) as { pid: number };
    expect(tmux(['display-message', '-p', '-t', `=gitbus-${id}:`, '#{pane_pid}']).stdout.trim()).toBe(String(record.pid));
    const cancel = await gitbus(['cancel', id], { home: bus.home('boss') });
    expect(cancel.code, cancel.stderr).toBe(0);
    await until('the task to be cancelled', async () => (await show(id)).state === 'cancelled');
    expect(hasSession(id)).toBe(false);
    expect(response(await show(id))).toContain('watch me');
    w.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('"status":"cancelled"');
  });

  it('without tmux the watcher does not take tmux tasks: it says to install tmux, and the task waits for a node that has it', async () => {
    const { bus, show } = await tmuxBus();
    const id = await bus.dispatch('boss', ['no tmux here', '--runner', 'tmux', '--command', 'true']);
    // gitbus itself needs no program from PATH: node is started by its full path, git runs in-process.
    const r = await spawnBounded(process.execPath, [BIN, 'watch', '--once', '--json'], { env: { ...process.env, ...env, GITBUS_HOME: bus.home('worker'), PATH: join(bus.dir, 'empty-path') }, timeoutMs: 60_000 });
    expect(r.code).toBe(7);
    expect(JSON.parse(r.stdout || r.stderr)).toMatchObject({ error: { code: 'RUNNERS_MISSING', message: expect.stringContaining('tmux needs "tmux", which is not on PATH'), fix: expect.stringContaining('install tmux') } });
    expect((await show(id)).state).toBe('pending');
  });
});
