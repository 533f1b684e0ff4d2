import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import type { ServeReport } from '../../cli/code-cache.js';
import { BIN, neutralCwd, tempDir, TEST_CACHE_HOME } from '../helpers/cli.js';
import { alive, until } from '../helpers/wait.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';

/**
 * A served `dispatch --wait` (cli/serve/, docs/ARCHITECTURE.md "Commands served by the watcher") and what ends it:
 * a signal to the client, the watcher stopping, the standby killed or deaf to signals. It waits for a task nobody
 * runs (beta has no watcher), so it is still waiting when the test acts.
 */

let bus: Awaited<ReturnType<typeof makeBus>>;
let alpha: string;
let scratch: { path: string; cleanup: () => Promise<void> };
const children: ChildProcess[] = [];

interface ServedWait {
  child: ChildProcess;
  /** The exit code or signal, and when it came; a client left hanging is the failure these tests are for. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** The standby's process, which runs the command. */
  pid: number;
  out: () => string;
  err: () => string;
}

/**
 * `gitbus dispatch TITLE --to beta --wait` served by the watcher and waiting (its id printed). A client runs its
 * command itself when no standby is ready (one starts as the previous command ends): such a run is ended and the
 * command started again, bounded.
 */
async function servedWait(title: string, extra: string[] = []): Promise<ServedWait> {
  for (let attempt = 1; ; attempt++) {
    const file = join(scratch.path, `report-${title.replace(/\W/g, '-')}-${attempt}.jsonl`);
    const child = spawn(process.execPath, [BIN, 'dispatch', title, '--to', 'beta', '--no-git', '--wait', ...extra], {
      cwd: neutralCwd(),
      env: { ...process.env, XDG_CACHE_HOME: TEST_CACHE_HOME, GITBUS_HOME: alpha, GITBUS_SERVE_REPORT: file, GITBUS_SERVE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((r) => child.on('exit', (code, signal) => r({ code, signal, at: Date.now() })));
    await until('the command to report whether it was served', () => existsSync(file) && readFileSync(file, 'utf8').includes('\n'), 60_000, () => err);
    const report = JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '{}') as ServeReport;
    if (!report.served) {
      child.kill('SIGKILL');
      await exited;
      expect(attempt, `never served: ${JSON.stringify(report)}`).toBeLessThan(20);
      continue;
    }
    await until('dispatch --wait to be waiting (its id printed)', () => /\d{8}-\d{6}-[a-z0-9]{6}/.test(out + err), 60_000, () => err);
    return { child, exited, pid: report.pid as number, out: () => out, err: () => err };
  }
}

/** `p`, or a string saying it did not settle within 30 s. */
const bounded = <T>(p: Promise<T>) => Promise.race([p, new Promise<string>((r) => setTimeout(() => r('still running after 30 s'), 30_000).unref())]);

async function servingWatcher(): Promise<WatcherProcess> {
  const w = startWatcher(alpha, ['--poll', '30s'], children);
  await until('the watcher serving', () => w.events().some((e) => e.type === 'serving'), 60_000, () => w.stderr());
  return w;
}

beforeAll(async () => {
  scratch = await tempDir('gitbus-served-signals-');
  bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
  alpha = bus.home('alpha');
  await bus.addNode('beta', [], ['--runner', 'shell']);
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
  await scratch?.cleanup();
});

describe('signals and ends of a served command', () => {
  it('passes a signal to the served command: dispatch --wait ends as it would in its own process, and a stopping watcher waits for it', async () => {
    const watcher = await servingWatcher();
    const w = await servedWait('waited on');
    // The watcher stopping (Ctrl-C in its terminal, a service restart) does not end the command it serves: it
    // stops (its `stopped` event) and waits for the command before it exits.
    watcher.child.kill('SIGTERM');
    await until('the watcher to stop', () => watcher.events().some((e) => e.type === 'stopped'), 60_000, () => watcher.stderr());
    expect(w.child.exitCode, w.err()).toBeNull();
    expect(w.child.signalCode, w.err()).toBeNull();
    expect(watcher.child.exitCode).toBeNull();
    w.child.kill('SIGINT');
    const end = await bounded(w.exited);
    // As in its own process: ended by the signal, not left running, and the standby with it.
    expect(end, w.err()).toMatchObject({ signal: 'SIGINT' });
    await until('the standby to end', () => !alive(w.pid), 30_000);
    // The watcher exits once the command it waited for has ended.
    expect(await watcher.exited).toBe(0);
  }, 180_000);

  it('a standby killed while it runs the command: the client says so (exit 10, a JSON error under --json)', async () => {
    const watcher = await servingWatcher();
    const w = await servedWait('lost', ['--json']);
    process.kill(w.pid, 'SIGKILL');
    expect(await bounded(w.exited), w.err()).toMatchObject({ code: 10 });
    expect(w.err()).toContain('ended before it finished');
    const out = w.out();
    expect(JSON.parse(out.slice(out.lastIndexOf('{\n  "error"')))).toMatchObject({ error: { code: 'SERVED_COMMAND_LOST', fix: expect.stringContaining('gitbus status') } });
    watcher.child.kill('SIGTERM');
    await watcher.exited;
  }, 180_000);

  it('a client sent a signal ends by itself when the standby does not (5 s, exit 128+n), and at once on a second signal', async () => {
    const watcher = await servingWatcher();
    /** A standby that cannot act on the signal it is sent, as one whose event loop a synchronous read holds. */
    const stuck = async (title: string) => {
      const w = await servedWait(title);
      process.kill(w.pid, 'SIGSTOP');
      return w;
    };

    const one = await stuck('stuck once');
    const sent = Date.now();
    one.child.kill('SIGTERM');
    const end = await bounded(one.exited);
    process.kill(one.pid, 'SIGKILL');
    expect(end, one.err()).toMatchObject({ code: 143 });
    expect(typeof end === 'object' && end.at - sent).toBeGreaterThanOrEqual(4_500);
    expect(one.err()).toContain(`gitbus: the served command did not end within 5 s of SIGTERM; this process stops waiting for it (the watcher's process ${one.pid} may still be running it`);

    const two = await stuck('stuck twice');
    two.child.kill('SIGINT');
    // Two signals sent at once are one (a pending signal is not queued twice): the second goes once the kernel has
    // handed the first to the process, which /proc shows (Linux only: elsewhere this part is not run).
    const status = `/proc/${two.child.pid ?? 0}/status`;
    if (existsSync(status)) {
      const pendingSigint = () => readFileSync(status, 'utf8').split('\n').filter((l) => /^(SigPnd|ShdPnd):/.test(l)).some((l) => (BigInt(`0x${l.split(/\s+/)[1] ?? '0'}`) & 2n) !== 0n);
      await until('the first SIGINT delivered', () => !pendingSigint(), 5_000);
      const second = Date.now();
      two.child.kill('SIGINT');
      const end2 = await bounded(two.exited);
      expect(end2, two.err()).toMatchObject({ code: 130 });
      expect(typeof end2 === 'object' && end2.at - second).toBeLessThan(4_000);
      expect(two.err()).toContain('gitbus: the served command did not end after SIGINT, and SIGINT followed');
    } else {
      expect(await bounded(two.exited), two.err()).toMatchObject({ code: 130 });
    }
    process.kill(two.pid, 'SIGKILL');
    watcher.child.kill('SIGTERM');
    await watcher.exited;
  }, 240_000);
});
