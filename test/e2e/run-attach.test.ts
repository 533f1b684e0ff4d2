import { describe, it, expect, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BIN, CLI, gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { bounded, until } from '../helpers/wait.js';
import { shellWord } from '../../bus/project/shell-word.js';
import { statusInProcess } from '../helpers/in-process.js';
import { readRefs } from '../helpers/refs.js';

type Ran = { id: string; node: string | null; status: string; exitCode: number | null; output: string };
type Attach = { id: string; node: string; local: boolean; command: string };
type Status = { tasks: { id: string; state: string }[] };
type Card = { nodes: { node: string; card?: { host?: { hostname?: string }; tmuxSocket?: string } }[] };

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux && process.env['CI'] === 'true') throw new Error('tmux is missing, and CI must run the attach tests: install tmux');

// Its own tmux server, so the tests never see or touch the sessions of a person using this machine.
const SOCKET = join(tmpdir(), `gitbus-test-attach-${process.pid}.sock`);
const SPACED = join(tmpdir(), `gitbus test attach ${process.pid}`, "it's tmux.sock");


const cleanups: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  if (hasTmux) spawnSync('tmux', ['-S', SOCKET, 'kill-server'], { timeout: 10_000 });
  if (hasTmux) spawnSync('tmux', ['-S', SPACED, 'kill-server'], { timeout: 10_000 });
  rmSync(SOCKET, { force: true });
  rmSync(dirname(SPACED), { recursive: true, force: true });
  for (const c of cleanups) await c();
});

/**
 * Runs `line` with `sh` on a pseudo-terminal (`script`), as ssh or a person's shell would, until a tmux client is
 * attached to the task's session on SPACED; then detaches it and waits for the command to end. Bounded.
 */
async function attachesOnATerminal(line: string, id: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const all: NodeJS.ProcessEnv = { ...process.env, ...env, SHELL: '/bin/sh', TERM: 'xterm' };
  delete all['TMUX'];
  delete all['GITBUS_TMUX_SOCKET'];
  const child = spawn('script', ['-qec', line, '/dev/null'], { env: all, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const ended = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const clients = () => spawnSync('tmux', ['-S', SPACED, 'list-clients', '-t', `=gitbus-${id}`], { encoding: 'utf8', timeout: 10_000 }).stdout.trim();
  await until(`a client attached by ${line}`, () => clients() !== '' || child.exitCode !== null, 30_000, () => out);
  expect(clients(), out).not.toBe('');
  spawnSync('tmux', ['-S', SPACED, 'detach-client', '-s', `=gitbus-${id}`], { timeout: 10_000 });
  expect(await bounded(ended, 30_000, `${line} to end once detached`)).toBe(0);
}

function startWatcher(home: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'watch', '--json', '--poll', '1s'], { env: { ...process.env, ...env, GITBUS_HOME: home }, stdio: ['ignore', 'ignore', 'ignore'] });
  children.push(child);
  return child;
}

/** Runs gitbus in the background until its standard error contains `text`, then stops it; bounded. */
async function stderrOf(args: string[], home: string, text: string): Promise<string> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, GITBUS_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  try {
    await until(`"${text}" on stderr of gitbus ${args.join(' ')}`, () => err.includes(text));
  } finally {
    child.kill('SIGTERM');
  }
  return err;
}

describe('gitbus run', () => {
  it('runs a command on a node: its output, its exit code, exact arguments, --json, and exit 9 on a timeout', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const worker = await bus.addNode('worker', ['fast'], ['--runner', 'shell']);
    startWatcher(worker);
    const home = bus.home('boss');
    // Before its first beat the node runs no watcher as far as the bus can tell, which a dispatch warns of.
    await until("the worker's first heartbeat", () => readRefs(bus.remote, 'refs/gitbus/heartbeats/').has('worker'));

    const r = await gitbus(['run', 'worker', '--', 'sh', '-c', 'echo out; exit 7'], { home });
    expect(r.code, r.stderr).toBe(7);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toContain('waiting for its response');
    expect(r.stderr).not.toContain('warning');

    const odd = `a b  "c" 'd' $HOME \\ * ; $(echo no) \`echo no\``;
    const p = await gitbus(['run', 'worker', '--', 'printf', '[%s]\\n', odd, ''], { home });
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toBe(`[${odd}]\n[]\n`);

    const j = await gitbus(['run', 'worker', '--json', '--label', 'fast', '--', 'echo', 'hi there'], { home });
    expect(j.code, j.stderr).toBe(0);
    const ran = json<Ran>(j);
    expect(ran).toMatchObject({ node: 'worker', status: 'succeeded', exitCode: 0, output: 'hi there\n', truncated: false });
    const shown = json<{ summary: { title: string; to: string; runner: string; labels: string[] } }>(await gitbus(['show', ran.id, '--json'], { home }));
    expect(shown.summary).toMatchObject({ title: "run: echo 'hi there'", to: 'worker', runner: 'shell', labels: ['fast'] });

    const t = await gitbus(['run', 'worker', '--timeout', '1s', '--', 'sleep', '30'], { home });
    expect(t.code, t.stderr).toBe(9);
    expect(t.stderr).toMatch(/ended timed-out without an exit code/);
    // A command that exits 0 on the SIGTERM of its timeout: the task still did not run to its end.
    const caught = await gitbus(['run', 'worker', '--timeout', '1s', '--', 'exec', 'sh', '-c', 'trap "exit 0" TERM; sleep 30 & wait'], { home });
    expect(caught.code, caught.stderr).toBe(9);
    expect(caught.stderr).toMatch(/ended timed-out: stopped after the timeout of 1s/);
  }, 120_000);

  it('a long output: run and logs elsewhere say that only its end is shown, of how much, and where all of it is; logs on the node that ran it prints its log', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const worker = await bus.addNode('worker', [], ['--runner', 'shell']);
    startWatcher(worker);
    const home = bus.home('boss');
    // Whole lines, 2.9 MB: far more than a response's output, less than the 8 MB logs reads of a log.
    const total = 14 * 214_286;
    const line = '0123456789abc\n';

    const r = await gitbus(['run', 'worker', '--', 'sh', '-c', `yes 0123456789abc | head -c ${total}`], { home, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const id = /dispatched (\S+);/.exec(r.stderr)?.[1] ?? '';
    // Elsewhere: the response's end, said to be only that.
    const elsewhere = await gitbus(['logs', id], { home });
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    const shown = Buffer.byteLength(elsewhere.stdout);
    expect(shown).toBeGreaterThan(4000);
    expect(shown).toBeLessThan(64 * 1024);
    expect(elsewhere.stdout.endsWith(`${line}${line}`)).toBe(true);
    const path = join(worker, 'logs', `${id}.1.log`);
    const said = `gitbus: only the end of ${id}'s output is shown: the last ${shown} bytes of 2.9 MB. All of it is in ${path} on worker; "gitbus logs ${id}" there shows all of it\n`;
    expect(elsewhere.stderr).toBe(said);
    // run printed the same (after any heartbeat tail it showed while the command ran), and said the same.
    expect(r.stdout.endsWith(elsewhere.stdout)).toBe(true);
    expect(r.stderr.endsWith(said)).toBe(true);

    const j = json<Ran & { truncated: boolean; shownBytes: number; totalBytes: number; fullLogPath: string }>(await gitbus(['run', 'worker', '--json', '--', 'sh', '-c', `yes 0123456789abc | head -c ${total}`], { home, timeoutMs: 60_000 }));
    expect(j).toMatchObject({ status: 'succeeded', truncated: true, shownBytes: Buffer.byteLength(j.output), totalBytes: total, fullLogPath: join(worker, 'logs', `${j.id}.1.log`) });

    const ej = json<{ source: string; truncated: boolean; shownBytes: number; totalBytes: number; fullLogPath: string; node: string }>(await gitbus(['logs', id, '--json'], { home }));
    expect(ej).toMatchObject({ source: 'response', node: 'worker', truncated: true, shownBytes: shown, totalBytes: total, fullLogPath: path });
    // The response says it too, for anyone reading it with show.
    const response = json<{ files: { path: string; text: string }[] }>(await gitbus(['show', id, '--json'], { home })).files.find((f) => f.path.startsWith('responses/'))?.text ?? '';
    expect(response).toContain(`## Log\n\nThe output below is only its end: all ${total} bytes of output are in \`${path}\` on the node that ran the task`);

    // On the node that ran it: all of its log (under 8 MB), with nothing to say.
    const there = await gitbus(['logs', id], { home: worker });
    expect(there.code, there.stderr).toBe(0);
    expect(Buffer.byteLength(there.stdout)).toBe(total);
    expect(there.stdout.startsWith(line)).toBe(true);
    expect(there.stderr).toBe('');
    expect(json(await gitbus(['logs', id, '--json'], { home: worker }))).toMatchObject({ source: 'local', truncated: false, log: { path, bytes: total, skipped: 0 } });
    // Once the watcher removed that log (--keep-logs), the node that ran it has the response's end, and says the rest is gone
    // rather than sending the person to run there what they just ran.
    const whole = readFileSync(path);
    rmSync(path);
    const gone = await gitbus(['logs', id], { home: worker });
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toBe(elsewhere.stdout);
    expect(gone.stderr).toBe(`gitbus: only the end of ${id}'s output is shown: the last ${shown} bytes of 2.9 MB. All of it was in ${path} on this node, which the watcher has since removed (it keeps logs for --keep-logs, default 14d)\n`);
    expect(json(await gitbus(['logs', id, '--json'], { home: worker }))).toMatchObject({ source: 'response', truncated: true, fullLogPath: path, fullLogRemoved: true });
    // Elsewhere the path is still where it was on that node, for all the reader can tell.
    expect(json<Record<string, unknown>>(await gitbus(['logs', id, '--json'], { home }))['fullLogRemoved']).toBeUndefined();
    // Archived (a day after it ended, by default), the same: its own log while it keeps it, then the response's end.
    writeFileSync(path, whole);
    const archived = await gitbus(['archive', '--all', '--json'], { home });
    expect(json<{ archived: string[] }>(archived).archived).toContain(id);
    const ownArchived = await gitbus(['logs', id], { home: worker });
    expect(ownArchived.code, ownArchived.stderr).toBe(0);
    expect(Buffer.byteLength(ownArchived.stdout)).toBe(total);
    expect(ownArchived.stderr).toBe('');
    rmSync(path);
    const goneArchived = await gitbus(['logs', id], { home: worker });
    expect(goneArchived.stdout).toBe(elsewhere.stdout);
    expect(goneArchived.stderr).toBe(gone.stderr);

    // An output that fits is all there, and nothing is said.
    const small = await gitbus(['run', 'worker', '--', 'sh', '-c', 'seq 1 500'], { home });
    expect(small.code, small.stderr).toBe(0);
    expect(small.stdout.startsWith('1\n2\n')).toBe(true);
    expect(small.stderr).not.toContain('only the end');
  }, 180_000);

  it('refuses a node that is not on the bus, or does not offer the shell runner, with a fix; --force dispatches with a warning', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    await bus.addNode('plain');
    const home = bus.home('boss');
    const ghost = await gitbus(['run', 'ghost', '--', 'true'], { home });
    expect(ghost.code, ghost.stderr).toBe(4);
    expect(ghost.stderr).toContain('no node named "ghost"');
    // The fix names run's own --force, not dispatch's.
    expect(ghost.stderr).toContain('add --force to run it anyway (gitbus run --force ghost -- CMD ...; the task waits until such a node joins)');
    expect(ghost.stderr).not.toContain('to dispatch anyway');
    // The command's own options before "--" are run's: the error says where they go.
    const dashes = await gitbus(['run', 'ghost', 'ls', '-la'], { home });
    expect(dashes.code).toBe(2);
    expect(dashes.stderr).toContain("unknown option '-la'");
    expect(dashes.stderr).toContain('put -- before the command: gitbus run NODE -- CMD -la ...');
    const dashesJson = await gitbus(['run', 'ghost', 'ls', '-la', '--json'], { home });
    expect(json<{ error: { fix: string } }>(dashesJson).error.fix).toContain('put -- before the command');
    const plain = await gitbus(['run', 'plain', '--', 'true'], { home });
    expect(plain.code, plain.stderr).toBe(5);
    expect(plain.stderr).toContain('node plain cannot run this task: it does not offer the shell runner');
    expect(plain.stderr).toContain('add --force to run it anyway (gitbus run --force plain -- CMD ...');
    // Nothing was dispatched by the refusals.
    expect(json<{ tasks: unknown[] }>(await gitbus(['status', '--json'], { home })).tasks).toEqual([]);
    const forced = await stderrOf(['run', '--force', 'plain', '--', 'true'], home, 'waiting for its response');
    expect(forced).toContain('warning: node plain cannot run this task');
  }, 60_000);
});

describe.skipIf(!hasTmux)('gitbus attach', () => {
  it('prints the command that attaches to a running tmux task, from another node and from the holder; refuses pending and non-tmux tasks', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const worker = await bus.addNode('worker', [], ['--runner', 'tmux']);
    const home = bus.home('boss');
    const id = await bus.dispatch('boss', ['long', '--to', 'worker', '--runner', 'tmux', '--command', 'sleep 60']);
    const waiting = await bus.dispatch('boss', ['nobody takes it', '--to', 'nobody', '--runner', 'tmux', '--command', 'true', '--force']);
    const shell = await bus.dispatch('boss', ['plain shell', '--to', 'nobody', '--command', 'true', '--force']);

    const pending = await gitbus(['attach', waiting, '--json'], { home });
    expect(pending.code).toBe(5);
    const err = json<{ error: { code: string; fix: string } }>(pending).error;
    expect(err.code).toBe('TASK_NOT_RUNNING');
    expect(err.fix).toContain('claims it');
    const notTmux = await gitbus(['attach', shell], { home });
    expect(notTmux.code).toBe(5);
    expect(notTmux.stderr).toContain('shell runner');
    expect(notTmux.stderr).toContain('fix:');

    startWatcher(worker, { GITBUS_TMUX_SOCKET: SOCKET });
    await until('the tmux task to be claimed', async () => (await statusInProcess<Status>(home)).tasks.find((x) => x.id === id)?.state === 'claimed');
    await until('its session', () => spawnSync('tmux', ['-S', SOCKET, 'has-session', '-t', `=gitbus-${id}`], { timeout: 10_000 }).status === 0);

    const nodes = json<Card>(await gitbus(['status', '--json'], { home })).nodes;
    const host = nodes.find((n) => n.node === 'worker')?.card?.host?.hostname ?? 'worker';
    // The socket the watcher runs tmux on is on its card (published before it claims), so the command names it
    // wherever it is printed.
    expect(nodes.find((n) => n.node === 'worker')?.card?.tmuxSocket).toBe(SOCKET);
    const remote = await gitbus(['attach', id, '--json'], { home });
    expect(remote.code, remote.stderr).toBe(0);
    expect(json<Attach>(remote)).toEqual({ id, node: 'worker', local: false, command: `ssh -t ${host} tmux -S ${SOCKET} attach -t =gitbus-${id}:` });
    const human = await gitbus(['attach', id], { home });
    expect(human.stdout).toBe(`ssh -t ${host} tmux -S ${SOCKET} attach -t =gitbus-${id}:\n`);
    // On the holder too, from a shell that does not have the watcher's GITBUS_TMUX_SOCKET.
    const local = await gitbus(['attach', id, '--json'], { home: worker, env: { GITBUS_TMUX_SOCKET: '' } });
    expect(local.code, local.stderr).toBe(0);
    expect(json<Attach>(local)).toEqual({ id, node: 'worker', local: true, command: `tmux -S ${SOCKET} attach -t =gitbus-${id}:` });

    expect((await gitbus(['cancel', id], { home })).code).toBe(0);
  }, 120_000);

  it('attaches for real, there and from elsewhere, to a task on a tmux socket whose path has a space in it', async () => {
    mkdirSync(dirname(SPACED), { recursive: true });
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const worker = await bus.addNode('worker', [], ['--runner', 'tmux']);
    const home = bus.home('boss');
    const id = await bus.dispatch('boss', ['long', '--to', 'worker', '--runner', 'tmux', '--command', 'sleep 60']);
    startWatcher(worker, { GITBUS_TMUX_SOCKET: SPACED });
    await until('its session', () => spawnSync('tmux', ['-S', SPACED, 'has-session', '-t', `=gitbus-${id}`], { timeout: 10_000 }).status === 0);
    expect(json<Card>(await gitbus(['status', '--json'], { home })).nodes.find((n) => n.node === 'worker')?.card?.tmuxSocket).toBe(SPACED);

    // From elsewhere: what ssh hands the host's shell is the words after the host, joined by spaces.
    const remote = json<Attach>(await gitbus(['attach', id, '--json'], { home }));
    const host = /^ssh -t (\S+) /.exec(remote.command)?.[1] ?? '';
    const words = spawnSync('sh', ['-c', `set -- ${remote.command}; shift 3; printf '%s' "$*"`], { encoding: 'utf8' }).stdout;
    expect(remote.command.startsWith(`ssh -t ${host} tmux -S `)).toBe(true);
    await attachesOnATerminal(words, id);
    // On the holder, --exec runs it.
    await attachesOnATerminal(`${shellWord(process.execPath)} ${shellWord(BIN)} attach ${id} --exec`, id, { GITBUS_HOME: worker });
    expect((await gitbus(['cancel', id], { home })).code).toBe(0);
  }, 120_000);

  it('attaches to the session a kept tmux task left after it ended, on the node that answered it', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const worker = await bus.addNode('worker', [], ['--runner', 'tmux']);
    const home = bus.home('boss');
    const file = join(bus.dir, 'kept.jsonl');
    writeFileSync(file, `${JSON.stringify({ title: 'kept', to: 'worker', runner: 'tmux', keep: true, command: 'echo hi' })}\n${JSON.stringify({ title: 'not kept', to: 'worker', runner: 'tmux', command: 'echo hi' })}\n`);
    const ids = json<{ tasks: { id: string }[] }>(await gitbus(['dispatch', '--from', file, '--no-git', '--json'], { home })).tasks.map((t) => t.id);
    const [kept, plain] = ids as [string, string];
    for (const id of ids) {
      expect((await gitbus(['claim', id], { home: worker })).code).toBe(0);
      expect((await gitbus(['respond', id, '--status', 'succeeded'], { home: worker })).code).toBe(0);
    }
    const r = await gitbus(['attach', kept, '--json'], { home: worker });
    expect(r.code, r.stderr).toBe(0);
    expect(json<Attach>(r)).toEqual({ id: kept, node: 'worker', local: true, command: `tmux attach -t =gitbus-${kept}:` });
    const ended = await gitbus(['attach', plain, '--json'], { home: worker });
    expect(ended.code).toBe(5);
    expect(json<{ error: { code: string } }>(ended).error.code).toBe('TASK_NOT_RUNNING');
  }, 60_000);
});
