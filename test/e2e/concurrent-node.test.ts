import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, gitbus, gitCli, json, tempDir, type RunResult } from '../helpers/cli.js';
import { sshdAvailable, startSshd, type Sshd } from '../helpers/sshd.js';
import { makeBus } from '../helpers/bus.js';
import { mainListing } from '../helpers/refs.js';
import { until } from '../helpers/wait.js';

/**
 * Many processes of one node at once — a script or an agent fanning out dispatches while the node's own watcher
 * runs — never wait on each other's network I/O (docs/ARCHITECTURE.md "Concurrency on one node"): nothing holds
 * the clone lock across a round trip, and dispatches queued in one home ride in shared commits.
 */
const available = sshdAvailable();
if (!available) console.warn('skipping the slow-SSH part of the concurrency tests: /usr/sbin/sshd is not installed (apt-get install openssh-server)');

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Fleet {
  home: (n: string) => string;
  env: NodeJS.ProcessEnv;
  /** The bare repository on disk, for plain-git reads. */
  bare: string;
  runs: string;
  watchers: { name: string; child: ChildProcess; out: () => string }[];
}

const INIT_FLAGS = ['--runner', 'shell', '--lease', '2m'];
const JOIN_FLAGS = ['--runner', 'shell'];

/** The SSH fleet: init and join run by the CLI (the joins at once, as processes), with the sshd's environment for their ssh. */
async function fleet(remote: string, bare: string, dir: string, env: NodeJS.ProcessEnv, workers: string[], dispatcher: string): Promise<Fleet> {
  const home = (n: string) => join(dir, `home-${n}`);
  const init = await gitbus(['init', '--remote', remote, '--node', dispatcher, ...INIT_FLAGS, '--json'], { home: home(dispatcher), env, timeoutMs: 120_000 });
  expect(init.code, init.stderr).toBe(0);
  const joins = await Promise.all(workers.map((n) => gitbus(['join', remote, '--node', n, ...JOIN_FLAGS, '--label', 'worker', '--json'], { home: home(n), env, timeoutMs: 120_000, process: true })));
  for (const j of joins) expect(j.code, j.stderr).toBe(0);
  return tracked({ home, env, bare, runs: join(dir, 'runs.log'), watchers: [] });
}

/** The local fleet: the bus is the fixture (test/helpers/bus.ts sets it up in this process), its use the subject. */
async function localFleet(workers: string[], dispatcher: string): Promise<Fleet> {
  const bus = await makeBus({ node: dispatcher, initArgs: INIT_FLAGS });
  cleanups.push(bus.cleanup);
  for (const n of workers) await bus.addNode(n, ['worker'], JOIN_FLAGS);
  return tracked({ home: bus.home, env: {}, bare: bus.remote, runs: join(bus.dir, 'runs.log'), watchers: [] });
}

function tracked(f: Fleet): Fleet {
  cleanups.push(async () => {
    for (const w of f.watchers) w.child.kill('SIGKILL');
  });
  return f;
}

function startWatcher(f: Fleet, name: string, poll = '500ms'): Fleet['watchers'][number] {
  const child = spawn(process.execPath, [BIN, 'watch', '--poll', poll, '--json'], { env: { ...process.env, ...f.env, GITBUS_HOME: f.home(name) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const w = { name, child, out: () => out };
  f.watchers.push(w);
  return w;
}

/** Dispatches `n` tasks at once from one home; each task appends its number to the runs file. */
async function fanOut(f: Fleet, from: string, n: number, first = 0, extra: string[] = []): Promise<{ results: RunResult[]; ids: string[] }> {
  const results = await Promise.all(
    Array.from({ length: n }, (_, k) => first + k).map((i) => gitbus(['dispatch', `task ${i}`, '--command', `echo ran-${i} >> ${f.runs}; echo out-${i}`, '--json', '--no-git', ...extra], { home: f.home(from), env: f.env, timeoutMs: 240_000, process: true })),
  );
  for (const r of results) expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
  const ids = results.map((r) => json<{ id: string; queued?: unknown }>(r)).map((d) => {
    expect(d.queued, 'delivered, not left queued').toBeUndefined();
    return d.id;
  });
  return { results, ids };
}

async function expectAllDone(f: Fleet, from: string, ids: string[], deadlineMs: number): Promise<void> {
  // Waited for on the bare repository (a response per task), then one `status` for their states: a status per poll
  // was a CLI process (over SSH, with its exchanges) every few hundred milliseconds, on the cores the watchers run on.
  const responses = mainListing(f.bare, 'responses');
  await until(`all ${ids.length} tasks answered`, () => {
    const answered = new Set(responses());
    return ids.every((id) => answered.has(`responses/${id}.md`));
  }, deadlineMs, () => [...f.watchers.map((w) => `--- ${w.name}\n${w.out().slice(-3000)}`), `--- runs\n${existsSync(f.runs) ? readFileSync(f.runs, 'utf8') : ''}`].join('\n'));
  const status = await gitbus(['status', '--json'], { home: f.home(from), env: f.env, timeoutMs: 60_000 });
  const tasks = json<{ tasks: { id: string; state: string }[] }>(status).tasks;
  for (const id of ids) expect(tasks.find((t) => t.id === id)?.state, `${id}\n${status.stderr}`).toBe('succeeded');
  // Each task ran exactly once.
  const runs = readFileSync(f.runs, 'utf8').trim().split('\n').sort();
  expect(runs).toEqual(ids.map((_, i) => `ran-${i}`).sort());
  const everything = f.watchers.map((w) => w.out()).join('\n');
  expect(everything).not.toContain('LOCK_TIMEOUT');
  expect(everything).not.toMatch(/"type":"error"/);
}

// The two cases have their own buses and homes, and the SSH one spends its time waiting on slow command starts:
// they run side by side.
describe.concurrent('concurrent use of one node', () => {
  it('ten dispatches at once from one home while its watcher runs, on a local remote: all delivered, distinct ids', { timeout: 180_000 }, async () => {
    const f = await localFleet(['w1'], 'alpha');
    const remote = f.bare;
    // On a local remote a watcher wakes at every push to it (watcher/wake-on-change.ts): that, not the poll, has it
    // claim the dispatches as they land. The poll is only the fallback here; at 500 ms, both watchers fetched and
    // decided four times a second for the whole test.
    startWatcher(f, 'alpha', '5s');
    startWatcher(f, 'w1', '5s');
    const { ids, results } = await fanOut(f, 'alpha', 10);
    expect(new Set(ids).size).toBe(10);
    for (const r of results) expect(r.stderr).not.toContain('LOCK_TIMEOUT');
    // Each handoff reached main exactly once, alone or riding with others queued in the same home.
    const handoffs = gitCli(['--git-dir', remote, 'log', '--diff-filter=A', '--name-only', '--format=', 'main', '--', 'handoffs']).split('\n').filter(Boolean);
    expect(handoffs.sort()).toEqual(ids.map((id) => `handoffs/${id}.md`).sort());
    await expectAllDone(f, 'alpha', ids, 90_000);
  });

  describe.skipIf(!available)('over an SSH remote whose every command takes half a second to start', () => {
    let sshd: Sshd;
    it('ten parallel dispatches from one home all succeed; three watchers finish a dozen tasks with no lock timeout', { timeout: 420_000 }, async () => {
      const dir = await tempDir('gitbus-conc-ssh-');
      cleanups.push(dir.cleanup);
      // A slow login shell, as on a host whose ~/.bashrc runs `pyenv init`: every command waits 0.5 s (some 100
      // times a normal start here: the test sshd skips ~/.bashrc), then runs. Each compare-and-swap costs two
      // command starts and writes to main cannot overlap, so this delay sets the pace of the whole test: 0.5 s keeps
      // every network step two orders of magnitude slower than the local file steps, which is what the case is about.
      // (Not $BASH_ENV: bash run by sshd reads ~/.bashrc instead.)
      const slow = join(dir.path, 'slow-start.sh');
      writeFileSync(slow, '#!/bin/sh\nsleep 0.5\nexec sh -c "$SSH_ORIGINAL_COMMAND"\n', { mode: 0o755 });
      sshd = await startSshd({ extraConfig: [`ForceCommand ${slow}`] });
      cleanups.push(() => sshd.cleanup());
      const bare = join(dir.path, 'srv', 'bus.git');
      gitCli(['init', '-q', '--bare', '--initial-branch=main', bare]);
      const f = await fleet(`busbox:${bare}`, bare, dir.path, sshd.env, ['w1', 'w2', 'w3'], 'alpha');
      // Ten dispatches at once from alpha's home while alpha's own watcher runs (and fetches over the slow link; the
      // tasks carry the label only the workers have).
      const own = startWatcher(f, 'alpha');
      await until('alpha\'s watcher started', () => own.out().includes('"type":"started"'), 60_000, own.out);
      const first = await fanOut(f, 'alpha', 10, 0, ['--label', 'worker']);
      expect(new Set(first.ids).size).toBe(10);
      // Then three watchers work through a dozen tasks (alpha, without the label, runs none of them).
      for (const n of ['w1', 'w2', 'w3']) startWatcher(f, n);
      const more = await fanOut(f, 'alpha', 2, 10, ['--label', 'worker']);
      const ids = [...first.ids, ...more.ids];
      // alpha's watcher ran for the dispatches from its home; polling the slow remote twice a second while the
      // others work adds only load to the machine they run on. It stops as a person stops it; its output is
      // checked with the others'.
      const stopped = new Promise<number | null>((r) => own.child.once('exit', (code) => r(code)));
      own.child.kill('SIGTERM');
      expect(await stopped, own.out()).toBe(0);
      await expectAllDone(f, 'alpha', ids, 240_000);
    });
  });
});
