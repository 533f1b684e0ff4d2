import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import type { ServeReport } from '../../cli/code-cache.js';
import { stopStandaloneServer } from '../../cli/serve/standalone.js';
import { OWN_PROCESS_SOONER } from '../../cli/serve/client.js';
import { processStartTicks } from '../../watcher/watcher-lock.js';
import { commandsAsProcesses, gitbus, json, tempDir, type RunResult } from '../helpers/cli.js';
import { alive, bounded, until } from '../helpers/wait.js';
import { startEventProcess, startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';

// What starts and serves processes is the subject: every command runs as a process, through the loader.
commandsAsProcesses();

/**
 * Commands served without a watcher (cli/serve/standalone.ts, cli/serve/auto-start.ts; docs/ARCHITECTURE.md
 * "Commands served without a watcher"): `gitbus serve`, started by hand or by the commands themselves when they come
 * back to back, serves a home's short commands until it is idle, and gives the home to a watcher that starts.
 */

let bus: Awaited<ReturnType<typeof makeBus>>;
let alpha: string;
let scratch: { path: string; cleanup: () => Promise<void> };
const children: ChildProcess[] = [];
let reports = 0;

const sock = () => join(alpha, 'cli.sock');
const lock = () => join(alpha, 'serve.lock');

/** Runs gitbus in alpha's home and says whether it was served (GITBUS_SERVE_REPORT). */
async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ r: RunResult; report: ServeReport }> {
  const file = join(scratch.path, `report-${++reports}.jsonl`);
  // Served whenever a standby is ready: with its code cache a command would run in its own process (OWN_PROCESS_SOONER).
  const r = await gitbus(args, { home: alpha, env: { GITBUS_SERVE_REPORT: file, GITBUS_SERVE: '1', ...env } });
  const lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
  const report = JSON.parse(lines.at(-1) ?? '{"command":"?","served":false,"reason":"no report"}') as ServeReport;
  return { r, report };
}

/** Runs the command until it is served (a server's first standby loads after it starts); bounded. */
async function served(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ r: RunResult; report: ServeReport }> {
  let last: { r: RunResult; report: ServeReport } | undefined;
  await until(`gitbus ${args.join(' ')} served`, async () => (last = await run(args, env)).report.served, 60_000, () => `last report: ${JSON.stringify(last?.report)}`);
  return last as { r: RunResult; report: ServeReport };
}

/** The pid a live `gitbus serve` wrote in the home's serve.lock, or null. */
function serverPid(): number | null {
  try {
    const pid = (JSON.parse(readFileSync(lock(), 'utf8')) as { pid: number }).pid;
    return alive(pid) ? pid : null;
  } catch {
    return null;
  }
}

async function stopped(p: WatcherProcess): Promise<number | null> {
  return bounded(p.exited, 60_000, `the process to end\nstderr: ${p.stderr()}`);
}

beforeAll(async () => {
  scratch = await tempDir('gitbus-serve-');
  bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
  alpha = bus.home('alpha');
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  const left = serverPid();
  if (left !== null) process.kill(left, 'SIGKILL');
  await bus?.cleanup();
  await scratch?.cleanup();
});

describe('gitbus serve', () => {
  it('serves the short commands of a home whose watcher does not run; is refused while it serves (ALREADY_SERVED, exit 5; --auto quietly); SIGTERM stops it', async () => {
    const server = startEventProcess(alpha, ['serve', '--json'], children);
    await until('a standby ready', () => server.events().some((e) => e.type === 'standbys' && Number(e['ready']) >= 1), 60_000, server.stderr);
    const { r, report } = await run(['status', '--json']);
    expect(report).toMatchObject({ command: 'status', served: true });
    expect(r.code).toBe(0);
    expect(json(r)).toHaveProperty('nodes');
    const again = await gitbus(['serve', '--json'], { home: alpha });
    expect(again.code).toBe(5);
    expect(json<{ error: { code: string; data: Record<string, unknown> } }>(again).error).toMatchObject({ code: 'ALREADY_SERVED', data: { by: 'server', pid: server.child.pid } });
    expect(again.stderr).toContain('fix: nothing to do');
    expect(await gitbus(['serve', '--auto'], { home: alpha })).toEqual({ code: 0, stdout: '', stderr: '' });
    server.child.kill('SIGTERM');
    expect(await stopped(server)).toBe(0);
    expect(server.events().at(-1)).toMatchObject({ type: 'stopped', reason: 'signal' });
    expect(existsSync(sock())).toBe(false);
    expect(existsSync(lock())).toBe(false);
  });

  it('starts by itself when commands it would serve come back to back (not those that start from their code cache), and gives the home to a watcher that starts', { timeout: 180_000 }, async () => {
    // As people run gitbus: the suite turns the start off for every other test (test/helpers/global-setup.ts).
    const auto = { GITBUS_SERVE_AUTO: undefined };
    rmSync(join(alpha, 'serve-wanted'), { force: true });
    rmSync(join(alpha, 'serve-started'), { force: true });
    // With its code cache usable a command runs in its own process, which ends sooner: nothing starts for it.
    const asPeople = { ...auto, GITBUS_SERVE: undefined };
    expect((await run(['status'], asPeople)).report).toMatchObject({ served: false, reason: OWN_PROCESS_SOONER });
    expect((await run(['status'], asPeople)).report.served).toBe(false);
    expect(existsSync(join(alpha, 'serve-wanted'))).toBe(false);
    expect(serverPid()).toBeNull();
    // Where the command cannot start from its code cache (a cache folder that cannot be made), as people run it.
    const blocked = join(scratch.path, 'cache-blocked');
    writeFileSync(blocked, '');
    const noCache = { ...asPeople, XDG_CACHE_HOME: join(blocked, 'cache') };
    const first = await run(['status'], noCache);
    expect(first.report).toMatchObject({ served: false, reason: 'nothing serves this home (no watcher or gitbus serve runs)' });
    expect(existsSync(join(alpha, 'serve-wanted'))).toBe(true);
    expect((await run(['status'], noCache)).report.served).toBe(false);
    await until('gitbus serve started by the second command', () => serverPid() !== null, 60_000, () => `home: ${readdirSync(alpha).join(', ')}; serve.lock: ${existsSync(lock()) ? readFileSync(lock(), 'utf8') : 'none'}`);
    const server = serverPid() as number;
    const viaServer = await served(['status', '--json'], auto);
    expect(viaServer.r.code).toBe(0);
    const check = (r: RunResult) => json<{ checks: { name: string; detail: string }[] }>(r).checks.find((c) => c.name === 'cli.serve')?.detail;
    expect(check((await run(['doctor', '--json'], auto)).r)).toMatch(/^gitbus serve serves short commands/);

    let watcher: WatcherProcess | undefined;
    try {
      watcher = startWatcher(alpha, ['--poll', '30s'], children, auto);
      await until('the watcher serving', () => (watcher as WatcherProcess).events().some((e) => e.type === 'serving'), 60_000, () => (watcher as WatcherProcess).stderr());
      // The watcher stopped the server before it served the home, and the server left the watcher's socket in place.
      expect(alive(server)).toBe(false);
      expect(existsSync(lock())).toBe(false);
      expect((await served(['status'], auto)).r.code).toBe(0);
      expect(check((await run(['doctor', '--json'], auto)).r)).toMatch(/^the watcher serves short commands/);
    } finally {
      watcher?.child.kill('SIGTERM');
      if (watcher) await stopped(watcher);
    }
  });
});

describe('gitbus serve and what a home holds', () => {
  it('serves a home reached through a link (~/.gitbus -> elsewhere), as the home itself', async () => {
    const link = join(scratch.path, 'home-link');
    symlinkSync(alpha, link);
    const server = startEventProcess(alpha, ['serve', '--idle', '30s', '--json'], children);
    try {
      await until('a standby ready', () => server.events().some((e) => e.type === 'standbys' && Number(e['ready']) >= 1), 60_000, server.stderr);
      const file = join(scratch.path, 'report-link.jsonl');
      const r = await gitbus(['status', '--json'], { home: link, env: { GITBUS_SERVE_REPORT: file, GITBUS_SERVE: '1' } });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '{}')).toMatchObject({ served: true });
    } finally {
      server.child.kill('SIGTERM');
      await stopped(server);
    }
  });

  it('a serve.lock nobody can read: refused with the fix while it is new, taken over once it is old; --idle ends it without a command', async () => {
    writeFileSync(lock(), '');
    const fresh = await gitbus(['serve', '--json'], { home: alpha });
    expect(fresh.code).toBe(5);
    expect(json<{ error: { code: string; fix: string } }>(fresh).error).toMatchObject({ code: 'ALREADY_SERVED', fix: expect.stringContaining(`delete ${lock()}`) });
    // Left by a crash (a full disk between making the file and writing the owner): no process is writing it.
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock(), old, old);
    const server = startEventProcess(alpha, ['serve', '--idle', '2s', '--json'], children);
    expect(await stopped(server)).toBe(0);
    expect(server.events().map((e) => e.type)).toContain('serving');
    expect(server.events().at(-1)).toMatchObject({ type: 'stopped', reason: 'idle' });
    expect(existsSync(sock())).toBe(false);
    expect(existsSync(lock())).toBe(false);
  });

  it('a watcher run with --no-serve: a server stops and removes its socket, and gitbus serve is refused naming --no-serve', async () => {
    const server = startEventProcess(alpha, ['serve', '--json'], children);
    await until('serving', () => server.events().some((e) => e.type === 'serving'), 60_000, server.stderr);
    const watcher = startWatcher(alpha, ['--poll', '30s', '--no-serve'], children);
    try {
      expect(await stopped(server)).toBe(0);
      expect(server.events().at(-1)).toMatchObject({ type: 'stopped', reason: 'no-serve' });
      expect(existsSync(sock())).toBe(false);
      const refused = await gitbus(['serve', '--json'], { home: alpha });
      expect(refused.code).toBe(5);
      expect(json<{ error: { data: { by: string }; fix: string } }>(refused).error).toMatchObject({ data: { by: 'no-serve' }, fix: expect.stringContaining('without --no-serve') });
    } finally {
      watcher.child.kill('SIGTERM');
      await stopped(watcher);
    }
  });
});

describe("the watcher's stop of a server", () => {
  it('kills a server that does not end when asked, so that it cannot remove the socket the watcher makes', async () => {
    // A process that ignores SIGTERM, named as the home's server in serve.lock; orphaned by its shell, so that it is
    // not this process's child (whose exit would wait for this process to reap it).
    const ready = join(scratch.path, 'stubborn-ready');
    const sh = spawn('sh', ['-c', `"$0" -e "process.on('SIGTERM', () => {}); require('fs').writeFileSync(process.argv[1], ''); setInterval(() => {}, 1000)" "$1" & echo $!`, process.execPath, ready], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await bounded(new Promise((r) => sh.on('exit', r)), 30_000, 'the shell');
    const pid = Number(out.trim());
    await until('the stubborn process ready', () => existsSync(ready), 30_000);
    try {
      writeFileSync(lock(), JSON.stringify({ pid, host: hostname(), since: new Date().toISOString(), how: 'foreground', startTicks: processStartTicks(pid) }));
      expect(stopStandaloneServer(alpha)).toBe(pid);
      expect(alive(pid)).toBe(false);
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(lock(), { force: true });
    }
  });
});
