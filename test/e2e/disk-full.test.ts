import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, gitbus, gitCli, json, tempDir } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { bounded, until } from '../helpers/wait.js';
import { recordRunning } from '../../watcher/running-record.js';

type Shown = { state: string; files: { path: string; text: string }[] };
type ErrorJson = { error: { code: string; message: string; fix: string } };

/** Mounting a small tmpfs needs root (or CAP_SYS_ADMIN): try it once. */
function mountWorks(): boolean {
  const probe = join('/tmp', `gitbus-mount-probe-${process.pid}`);
  mkdirSync(probe, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore', timeout: 10_000 });
    execFileSync('umount', [probe], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const canMount = mountWorks();
if (!canMount && process.env['CI'] === 'true') throw new Error('cannot mount a tmpfs, and CI must run the full-disk tests: run them as root');
if (!canMount) console.warn('full-disk tests skipped: mounting a tmpfs is not permitted here (run as root)');

const mounts: string[] = [];
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const m of mounts) spawnSync('umount', ['-l', m], { timeout: 10_000 });
  for (const c of cleanups) await c();
});

/** A new folder `name` in a temp folder of its own, with a tmpfs of `size` mounted on it (unmounted after the file). */
async function smallDisk(name: string, size: string): Promise<{ dir: string; disk: string }> {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const disk = join(dir.path, name);
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', disk], { timeout: 10_000 });
  mounts.push(disk);
  return { dir: dir.path, disk };
}

/** Fills the file system holding `dir` (head stops at ENOSPC: full to the last page). */
function fillDisk(file: string): void {
  spawnSync('sh', ['-c', `head -c 100000000 /dev/zero > '${file}'`], { timeout: 30_000 });
}

/** A bus whose node `worker` has its home on a small tmpfs of its own; `fill()` fills it, `free()` frees it. */
async function smallDiskBus(runnerArgs: string[] = []) {
  const bus = await makeBus({ node: 'boss', initArgs: ['--heartbeat', '1s'] });
  cleanups.push(bus.cleanup);
  const disk = join(bus.dir, 'disk');
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk], { timeout: 10_000 });
  mounts.push(disk);
  const home = join(disk, 'home');
  const j = await gitbus(['join', bus.remote, '--node', 'worker', ...runnerArgs, '--json'], { home });
  expect(j.code, j.stderr).toBe(0);
  const filler = join(disk, 'filler');
  const fill = () => {
    // head stops at ENOSPC: the file system is then full to the last page.
    spawnSync('sh', ['-c', `head -c 100000000 /dev/zero > '${filler}'`], { timeout: 30_000 });
    expect(statSync(filler).size).toBeGreaterThan(0);
  };
  const free = () => rmSync(filler, { force: true });
  return { bus, home, fill, free };
}

/**
 * Temp files a failed write could leave behind in the home: git's object temp files, gitbus's *.tmp, locks and
 * fetch folders. The running watcher's own watcher.lock is not one of them.
 */
function leftovers(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory() && e.name === 'gitbus-incoming' && readdirSync(p).length > 0) found.push(p);
      else if (e.isDirectory()) walk(p);
      else if (/^tmp_obj_|\.tmp$|^tmp_pack_|\.lock$/.test(e.name) && e.name !== 'watcher.lock') found.push(p);
    }
  };
  walk(dir);
  return found;
}

describe.skipIf(!canMount)('a full disk under the home', () => {
  it("a run's record that cannot be written (the run filled the disk as it started) leaves no temp file", async () => {
    const { disk: home } = await smallDisk('home', '1m');
    mkdirSync(join(home, 'running'));
    fillDisk(join(home, 'filler'));
    expect(() => recordRunning(home, { id: '20261205-181027-t205tz', attempt: 1, pid: process.pid })).toThrow(/ENOSPC/);
    expect(readdirSync(join(home, 'running'))).toEqual([]);
  });

  it('dispatch fails with DISK_FULL (exit 10) naming the path, leaves no temp files, and works once space is freed', async () => {
    const { home, fill, free } = await smallDiskBus();
    fill();
    const r = await gitbus(['dispatch', 'on a full disk', '--command', 'true', '--no-git', '--json'], { home });
    expect(r.stderr).not.toContain('internal error');
    expect(r.code, r.stderr).toBe(10);
    const e = json<ErrorJson>(r).error;
    expect(e.code).toBe('DISK_FULL');
    expect(e.message).toContain(home);
    expect(e.fix).toContain('free space');
    expect(leftovers(home)).toEqual([]);
    // doctor agrees with the command.
    const d = await gitbus(['doctor', '--json'], { home });
    const doctor = json<{ checks: { name: string; status: string }[] }>(d);
    expect(doctor.checks, d.stdout).toBeDefined();
    expect(doctor.checks.find((c) => c.name === 'home.space')?.status).toBe('fail');
    free();
    const again = await gitbus(['dispatch', 'after freeing space', '--command', 'true', '--no-git', '--json'], { home });
    expect(again.code, again.stderr).toBe(0);
  });

  it("a full disk under a local remote (not the home's) is said of the remote's device, by dispatch and by doctor", async () => {
    const { dir, disk } = await smallDisk('disk', '2m');
    const remote = join(disk, 'bus.git');
    const home = join(dir, 'home');
    const init = await gitbus(['init', '--remote', remote, '--node', 'solo', '--json'], { home });
    expect(init.code, init.stderr).toBe(0);
    fillDisk(join(disk, 'filler'));
    const r = await gitbus(['dispatch', 'onto a full remote', '--runner', 'manual', '--no-git', '--json'], { home });
    expect(r.code, r.stderr).toBe(10);
    const e = json<ErrorJson>(r).error;
    expect(e.code).toBe('DISK_FULL');
    expect(e.message).toContain(join(remote, 'objects'));
    expect(e.fix).toContain(`df -h ${join(remote, 'objects')}`);
    const d = json<{ checks: { name: string; status: string; detail: string; fix: string | null }[] }>(await gitbus(['doctor', '--json'], { home }));
    const push = d.checks.find((c) => c.name === 'remote.push');
    expect(push).toMatchObject({ status: 'fail', detail: expect.stringContaining('no space left'), fix: expect.stringContaining(`df -h ${remote}`) });
  });

  it('gitbus serve on a full disk fails with DISK_FULL and leaves no empty serve.lock: it serves once space is freed', async () => {
    const { home, fill, free } = await smallDiskBus();
    fill();
    const r = await gitbus(['serve', '--idle', '1s', '--json'], { home });
    expect(r.code, r.stderr).toBe(10);
    expect(json<ErrorJson>(r).error.code).toBe('DISK_FULL');
    expect(existsSync(join(home, 'serve.lock'))).toBe(false);
    free();
    const again = await gitbus(['serve', '--idle', '1s', '--json'], { home, timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('"reason":"idle"');
  });

  it('respond fails with DISK_FULL, leaves no temp files, and succeeds once space is freed', async () => {
    const { bus, home, fill, free } = await smallDiskBus();
    const id = await bus.dispatch('boss', ['to answer by hand', '--to', 'worker']);
    const c = await gitbus(['claim', id, '--json'], { home });
    expect(c.code, c.stderr).toBe(0);
    fill();
    const r = await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'done', '--json'], { home });
    expect(r.stderr).not.toContain('internal error');
    expect(r.code, r.stderr).toBe(10);
    expect(json<ErrorJson>(r).error.code).toBe('DISK_FULL');
    expect(leftovers(home)).toEqual([]);
    free();
    const again = await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'done', '--json'], { home });
    expect(again.code, again.stderr).toBe(0);
    expect(json<Shown>(await gitbus(['show', id, '--json'], { home: bus.home('boss') })).state).toBe('succeeded');
  });

  const startWatcher = (home: string, more: string[] = []) => {
    const child = spawn(process.execPath, [BIN, 'watch', '--json', '--poll', '1s', ...more], { env: { ...process.env, GITBUS_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const events = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; id?: string; code?: string | null });
    return { child, out: () => out, events };
  };
  const stateOf = async (home: string, id: string) => json<Shown>(await gitbus(['show', id, '--json'], { home })).state;

  it('a watcher task that fills the disk: the room kept for its result gets the result to the bus, and the watcher lives on', async () => {
    const { bus, home } = await smallDiskBus(['--runner', 'shell']);
    const id = await bus.dispatch('boss', ['fills the disk', '--to', 'worker', '--command', 'head -c 100000000 /dev/zero > fill.bin 2>/dev/null; exit 0']);
    const w = startWatcher(home);
    await until('the result to reach the bus while the disk is still full', async () => (await stateOf(bus.home('boss'), id)) === 'succeeded', 90_000, w.out);
    expect(statSync(join(home, 'work', 'fill.bin')).size).toBeGreaterThan(0);
    expect(existsSync(join(home, 'outbox', `${id}.1.reserved`))).toBe(false);
    expect(existsSync(join(home, 'outbox', `${id}.1.json`))).toBe(false);
    expect(w.child.exitCode).toBeNull();
    w.child.kill('SIGTERM');
  }, 240_000);

  it('a run whose output fills the disk is not failed by it: it ends as its command does, and its response says how many bytes its log could not take, and why', async () => {
    const { bus, home } = await smallDiskBus(['--runner', 'shell']);
    // The output goes to the log through its keeper (watcher/runners/log-keeper.ts), which reads on past a full disk.
    const id = await bus.dispatch('boss', ['output fills the disk', '--to', 'worker', '--command', 'head -c 100000000 /dev/zero; echo printed-to-the-end']);
    const w = startWatcher(home);
    await until('the result to reach the bus', async () => (await stateOf(bus.home('boss'), id)) === 'succeeded', 90_000, w.out);
    const response = gitCli(['--git-dir', bus.remote, 'show', `main:responses/${id}.md`]);
    const unwritten = /; (\d+) bytes more could not be written to it \(ENOSPC: its disk was full\)\.\n/.exec(response);
    expect(unwritten, response).not.toBeNull();
    // What the log holds, what it could not take, and what went past its cap (64MiB) are all the task printed.
    const kept = Number(/all (\d+) bytes of output are in/.exec(response)?.[1]);
    const dropped = Number(/; that node dropped (\d+) bytes more from the middle of the output/.exec(response)?.[1]);
    expect(kept + Number(unwritten?.[1]) + dropped).toBe(100_000_000 + 'printed-to-the-end\n'.length);
    w.child.kill('SIGTERM');
  }, 240_000);

  it('a run that fails on a full disk says so in its reason, not only "exit code 1"', async () => {
    const { bus, home } = await smallDiskBus(['--runner', 'shell']);
    const id = await bus.dispatch('boss', ['writes a file onto a full disk', '--to', 'worker', '--command', 'head -c 100000000 /dev/zero > fill.bin']);
    const w = startWatcher(home);
    await until('the result to reach the bus', async () => (await stateOf(bus.home('boss'), id)) === 'failed', 90_000, w.out);
    const response = gitCli(['--git-dir', bus.remote, 'show', `main:responses/${id}.md`]);
    expect(response).toMatch(/\nreason: "?exit code 1; the disk holding .*\/logs.* is full \(\d+ KiB free\), which may be why/);
    w.child.kill('SIGTERM');
  }, 240_000);

  it('a local remote made read-only under a running watcher is one outage, said once with the fix, and the result goes once it is writable', async () => {
    // A push outage ends at a push that gets through, a heartbeat at the latest (README, watch): beats every second.
    const bus = await makeBus({ node: 'boss', initArgs: ['--heartbeat', '1s'] });
    cleanups.push(bus.cleanup);
    const worker = await bus.addNode('worker', [], ['--runner', 'shell']);
    const go = join(bus.dir, 'go');
    const id = await bus.dispatch('boss', ['finishes on a read-only remote', '--to', 'worker', '--command', `for i in $(seq 600); do [ -e '${go}' ] && break; sleep 0.1; done`]);
    const w = startWatcher(worker, ['--retry', '1s', '--retry-max', '2s']);
    await until('the task to run', () => w.events().some((e) => e.type === 'claimed'), 30_000, w.out);
    execFileSync('mount', ['--bind', bus.remote, bus.remote], { timeout: 10_000 });
    mounts.push(bus.remote);
    execFileSync('mount', ['-o', 'remount,ro,bind', bus.remote], { timeout: 10_000 });
    writeFileSync(go, '');
    await until('the outage to be said', () => w.events().some((e) => e.type === 'remote-down'), 30_000, w.out);
    const down = w.events().find((e) => e.type === 'remote-down') as { code?: string; fix?: string } | undefined;
    expect(down?.code).toBe('REMOTE_NOT_WRITABLE');
    expect(down?.fix).toContain('remount it writable');
    // Wakes and retries meanwhile (every poll, backed off): said once, no error at each.
    const saidAt = Date.now();
    await until('4 s more', () => Date.now() - saidAt >= 4_000, 10_000);
    expect(w.events().filter((e) => e.type === 'remote-down' || e.type === 'error'), w.out()).toHaveLength(1);
    execFileSync('mount', ['-o', 'remount,rw,bind', bus.remote], { timeout: 10_000 });
    await until('the result to reach the bus', async () => (await stateOf(bus.home('boss'), id)) === 'succeeded', 60_000, w.out);
    expect(w.events().some((e) => e.type === 'remote-up'), w.out()).toBe(true);
    w.child.kill('SIGTERM');
  }, 240_000);

  it('with no room kept (it was taken), the result is held in memory and reaches the bus once space is freed', async () => {
    const { bus, home } = await smallDiskBus(['--runner', 'shell']);
    // The task takes its own reservation away first, as another process filling the disk could. It fills the disk
    // three times: a file the watcher was replacing (liveness.json, by a temp file and a rename) as the first fill
    // ended frees a page when the rename lands, and the result would fit there; the later fills take it back.
    const id = await bus.dispatch('boss', ['fills the disk, room taken', '--to', 'worker', '--command', 'rm -f "$GITBUS_HOME"/outbox/*.reserved; for i in 1 2 3; do head -c 100000000 /dev/zero >> fill.bin 2>/dev/null; sleep 0.2; done; exit 0']);
    const w = startWatcher(home);
    await until('the run to end on a full disk', () => w.events().some((e) => e.type === 'finished' && e.id === id), 90_000, w.out);
    // Nothing could be written: the watcher said why as the run ended (the result held in memory; a later flush
    // stores it as soon as a page is free again), and the task is still claimed on the bus.
    const ended = w.events().findIndex((e) => e.type === 'finished' && e.id === id);
    expect(w.events().slice(0, ended).some((e) => e.type === 'error' && e.code === 'DISK_FULL'), w.out()).toBe(true);
    expect(await stateOf(bus.home('boss'), id)).toBe('claimed');
    expect(w.child.exitCode).toBeNull();

    rmSync(join(home, 'work', 'fill.bin'), { force: true });
    await until('the result to reach the bus', async () => (await stateOf(bus.home('boss'), id)) === 'succeeded', 90_000, w.out);
    const shown = json<Shown>(await gitbus(['show', id, '--json'], { home: bus.home('boss') }));
    expect(shown.files.find((f) => f.path.startsWith('responses/'))?.text).toContain('exitCode: 0');
    expect(w.child.exitCode).toBeNull();
    // Looked for once the watcher has stopped: while it runs, a heartbeat's temp file or a fetch's lock may be there
    // for a moment; after it, anything left is a leftover of the full disk.
    const exited = new Promise((resolve) => w.child.once('exit', resolve));
    w.child.kill('SIGTERM');
    await bounded(exited, 30_000, 'the watcher to stop');
    expect(leftovers(home)).toEqual([]);
  }, 240_000);
});
