import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json, tempDir, type RunResult } from '../helpers/cli.js';
import { initNode, joinNode, type InitNodeOptions } from '../helpers/in-process.js';
import { until } from '../helpers/wait.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';

/**
 * Nodes whose wall clocks are ten minutes fast and ten minutes slow (libfaketime, Debian's `faketime` package),
 * as OS processes on one bus (docs/PROTOCOL.md §5a: leases are judged by the observer's clock alone; locks by the
 * observing process's monotonic clock alone). Every process of a skewed node, and every git or shell it starts,
 * runs under the same skew; its monotonic clock stays true, as on a real machine whose wall clock is wrong.
 */
const LIB = (() => {
  try {
    for (const dir of ['/usr/lib', ...readdirSync('/usr/lib').map((d) => join('/usr/lib', d))]) {
      const p = join(dir, 'faketime', 'libfaketime.so.1');
      if (existsSync(p)) return p;
    }
  } catch {
    // no /usr/lib: no libfaketime
  }
  return null;
})();

type Skew = '+10m' | '-10m' | null;
const TEN_MIN = 600_000;
const skewEnv = (skew: Skew): NodeJS.ProcessEnv =>
  skew && LIB ? { LD_PRELOAD: LIB, FAKETIME: skew, FAKETIME_DONT_FAKE_MONOTONIC: '1' } : {};

/** What a process under `skew` reads from its clocks: the wall clock, and how long a 300 ms timer took by its monotonic clock. */
function probe(skew: Skew): { wall: number; timerMs: number; gitTime: number } | null {
  const script = `const h=process.hrtime.bigint();const wall=Date.now();const g=require('child_process').execFileSync('git',['var','GIT_COMMITTER_IDENT'],{encoding:'utf8',env:{...process.env,GIT_COMMITTER_NAME:'x',GIT_COMMITTER_EMAIL:'x@x'}});setTimeout(()=>console.log(JSON.stringify({wall,timerMs:Number(process.hrtime.bigint()-h)/1e6,gitTime:Number(g.trim().split(' ').at(-2))*1000})),300)`;
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, ...skewEnv(skew) }, encoding: 'utf8', timeout: 30_000 });
  try {
    return JSON.parse(r.stdout) as { wall: number; timerMs: number; gitTime: number };
  } catch {
    return null;
  }
}

const available = (() => {
  if (!LIB || spawnSync('faketime', ['--version']).error) return false;
  const p = probe('+10m');
  return p !== null && Math.abs(p.wall - Date.now() - TEN_MIN) < 120_000;
})();
if (!available && process.env['CI'] === 'true') throw new Error('libfaketime is missing or does not shift node\'s clock, and CI must run the clock-skew tests: apt-get install faketime');
if (!available) console.warn('clock-skew tests skipped: libfaketime is not installed (apt-get install faketime)');

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

const run = (home: string, skew: Skew, args: string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
  gitbus(args, { home, env: { ...skewEnv(skew), ...env }, timeoutMs });

const ls = (remote: string, dir: string): string[] => gitCli(['--git-dir', remote, 'ls-tree', '--name-only', 'main', `${dir}/`]).split('\n').filter(Boolean).map((p) => p.slice(dir.length + 1));

/** What a node's wall clock reads under `skew` (libfaketime shifts it by exactly that). */
const clockOf = (skew: Skew): Date => new Date(Date.now() + (skew === '+10m' ? TEN_MIN : skew === '-10m' ? -TEN_MIN : 0));

/**
 * A bus on a local bare remote, first created by `node` whose clock reads `skew`: its settings, first commit and
 * node card are dated by that clock. The bus is these tests' fixture, not their subject: it is made in the test's
 * process (test/helpers/in-process.ts) with the skewed date, not by a CLI process under libfaketime (~0.5-0.8 s
 * of CPU each on a loaded machine, and the file made nine of them).
 */
async function oneNodeBus(node: string, skew: Skew, opts: Omit<InitNodeOptions, 'node' | 'now'> = {}) {
  const dir = await tempDir('gitbus-skew-');
  cleanups.push(dir.cleanup);
  const remote = join(dir.path, 'remote.git');
  const home = join(dir.path, `home-${node}`);
  await initNode(home, remote, { ...opts, node, now: clockOf(skew) });
  return { dir: dir.path, remote, home };
}

describe.skipIf(!available)('nodes whose clocks are ten minutes fast and slow', () => {
  it('libfaketime shifts a process\'s wall clock (and its git\'s) by ten minutes and leaves its monotonic clock and timers true', () => {
    for (const [skew, sign] of [['+10m', 1], ['-10m', -1]] as const) {
      const before = Date.now();
      const p = probe(skew);
      const after = Date.now();
      expect(p, `probe under ${skew}`).not.toBeNull();
      if (!p) return;
      expect(p.wall).toBeGreaterThanOrEqual(before + sign * TEN_MIN - 2_000);
      expect(p.wall).toBeLessThanOrEqual(after + sign * TEN_MIN + 2_000);
      expect(Math.abs(p.gitTime - (p.wall - (p.wall % 1000)))).toBeLessThan(30_000);
      expect(p.timerMs).toBeGreaterThanOrEqual(290);
      expect(p.timerMs).toBeLessThan(20_000);
    }
  });

  // Each test has its own bus; this one waits on its long tasks and the others on ~10 s lock judgements: side by side.
  it.concurrent('three watchers (true clock, +10 min, -10 min) with a 12 s lease run three dozen tasks from all three nodes exactly once: none reclaimed or reaped, every response accepted, lint clean', { timeout: 240_000 }, async () => {
    const nodes: { name: string; skew: Skew }[] = [
      { name: 'fast', skew: '+10m' },
      { name: 'exact', skew: null },
      { name: 'slow', skew: '-10m' },
    ];
    // The fast node creates the bus: its settings and first commit are dated ten minutes ahead of the others.
    const bus = await oneNodeBus('fast', '+10m', { runners: ['shell'], parallel: 3, lease: '12s', heartbeat: '2s', poll: '1s' });
    const home = (n: string) => join(bus.dir, `home-${n}`);
    // The other two join with their cards dated by their own clocks (in the test's process too: the fixture).
    for (const n of nodes.slice(1)) await joinNode(home(n.name), bus.remote, { node: n.name, runners: ['shell'], parallel: 3, now: clockOf(n.skew) });
    const runs = join(bus.dir, 'runs.log');
    const watchers = new Map<string, WatcherProcess>(nodes.map((n) => [n.name, startWatcher(home(n.name), ['--poll', '500ms'], children, skewEnv(n.skew))]));
    const explain = () => [...watchers].map(([n, w]) => `--- ${n}\n${w.events().map((e) => JSON.stringify(e)).join('\n')}\n${w.stderr().slice(-2000)}`).join('\n');
    await until('all three watchers to start', () => [...watchers.values()].every((w) => w.events().some((e) => e.type === 'started')), 60_000, explain);

    // A dozen from each node, each node's in one `dispatch --from` under its own clock, the three nodes at once (a
    // CLI process per task made 36 processes under libfaketime, ~20 s of CPU, for tasks a batch puts on the bus the
    // same way: handoffs dated by the dispatcher's clock, pushed with compare-and-swap against the other nodes').
    // The first of each runs longer than the lease on the next node of the ring (so that each clock holds one that
    // the other two must not take back), the second for half a lease, the rest at once.
    const tags = nodes.flatMap((n) => Array.from({ length: 12 }, (_, i) => `${n.name}-${i}`));
    const ids = new Map<string, string>();
    const holderOf = (k: number) => nodes[(k + 1) % nodes.length]?.name ?? '';
    await Promise.all(
      nodes.map(async (n, k) => {
        const batch = join(bus.dir, `batch-${n.name}.jsonl`);
        const lines = Array.from({ length: 12 }, (_, i) => {
          const tag = `${n.name}-${i}`;
          const pause = i === 0 ? 'sleep 14; ' : i === 1 ? 'sleep 6; ' : '';
          return JSON.stringify({ title: `task ${tag}`, command: `${pause}echo ${tag} >> ${runs}`, ...(i === 0 ? { to: holderOf(k) } : {}) });
        });
        writeFileSync(batch, `${lines.join('\n')}\n`);
        const d = await run(home(n.name), n.skew, ['dispatch', '--from', batch, '--json', '--no-git'], 120_000);
        expect(d.code, d.stderr).toBe(0);
        const out = json<{ ids: string[]; queued?: unknown }>(d);
        expect(out.queued, 'delivered, not left queued').toBeUndefined();
        expect(out.ids).toHaveLength(12);
        out.ids.forEach((id, i) => ids.set(`${n.name}-${i}`, id));
      }),
    );
    expect(new Set(ids.values()).size).toBe(36);

    await until('a response to every task on the remote', () => ls(bus.remote, 'responses').length >= 36, 150_000, () => `${explain()}\n--- runs\n${existsSync(runs) ? readFileSync(runs, 'utf8') : ''}`);

    // A response is on the remote a moment before its watcher reports the run finished.
    const finishedAll = () => new Set([...watchers.values()].flatMap((w) => w.events()).filter((e) => e.type === 'finished').map((e) => e.id));
    await until('every run reported finished by its watcher', () => [...ids.values()].every((id) => finishedAll().has(id)), 60_000, explain);
    // Each ran exactly once.
    expect(readFileSync(runs, 'utf8').trim().split('\n').sort()).toEqual([...tags].sort());
    // One claim each, the first attempt, never reclaimed, released or reaped.
    const all = [...watchers.values()].flatMap((w) => w.events());
    const claims = ls(bus.remote, 'claims');
    expect(claims.sort()).toEqual([...ids.values()].map((id) => `${id}.1.md`).sort());
    expect(ls(bus.remote, 'releases')).toEqual([]);
    expect(all.filter((e) => e.type === 'claimed').map((e) => e.id).sort()).toEqual([...ids.values()].sort());
    expect(all.filter((e) => e.type === 'claimed' && (e['reclaimed'] !== false || e.attempt !== 1))).toEqual([]);
    expect(all.filter((e) => ['reaped', 'released', 'rejected', 'queued', 'error'].includes(e.type))).toEqual([]);
    // Each long task was held past the lease by its node, whose heartbeat alone kept it.
    nodes.forEach((n, k) => {
      const id = ids.get(`${n.name}-0`);
      const w = watchers.get(holderOf(k));
      expect(w?.events().some((e) => e.type === 'claimed' && e.id === id), `${holderOf(k)} held ${n.name}-0`).toBe(true);
      expect(Number(w?.events().find((e) => e.type === 'finished' && e.id === id)?.['durationMs'])).toBeGreaterThan(12_000);
    });
    // Every response was accepted: written by the node that ran the task, succeeded, and nothing kept aside.
    expect(ls(bus.remote, 'responses').sort()).toEqual([...ids.values()].map((id) => `${id}.md`).sort());
    expect(all.filter((e) => e.type === 'finished').map((e) => [e.id, e.status])).toEqual(expect.arrayContaining([...ids.values()].map((id) => [id, 'succeeded'])));
    for (const n of nodes) expect(existsSync(join(home(n.name), 'outbox', 'rejected')) ? readdirSync(join(home(n.name), 'outbox', 'rejected')) : []).toEqual([]);

    // Every node, by its own clock, sees all three alive and every task succeeded; the bus lints clean.
    for (const n of nodes) {
      const s = json<{ nodes: { node: string; liveness: string }[]; tasks: { id: string; state: string }[] }>(await run(home(n.name), n.skew, ['status', '--json']));
      expect(s.nodes.filter((x) => nodes.some((m) => m.name === x.node)).map((x) => [x.node, x.liveness]).sort(), `status on ${n.name}`).toEqual(nodes.map((m) => [m.name, 'alive']).sort());
      for (const id of ids.values()) expect(s.tasks.find((t) => t.id === id)?.state, `${id} on ${n.name}`).toBe('succeeded');
      const lint = await run(home(n.name), n.skew, ['lint', '--json']);
      expect(lint.code, lint.stdout).toBe(0);
      expect(json<{ problems: unknown[] }>(lint).problems).toEqual([]);
    }

    for (const w of watchers.values()) w.child.kill('SIGTERM');
    for (const [n, w] of watchers) expect(await w.exited, `${n} exits cleanly`).toBe(0);
  });

  it.concurrent('doctor on a node ten minutes fast or slow names the 600 s between its clock and the remote\'s, and says leases do not depend on it', { timeout: 120_000 }, async () => {
    for (const [skew, side] of [['+10m', 'behind'], ['-10m', 'ahead of']] as const) {
      const bus = await oneNodeBus('n', skew);
      const r = await run(bus.home, skew, ['doctor', '--json'], 90_000);
      const clock = json<{ checks: { name: string; status: string; detail: string; fix: string }[] }>(r).checks.find((c) => c.name === 'clock');
      expect(clock?.status, skew).toBe('warn');
      // The file system stamps the probe file with the true time; this node's clock is ten minutes off it.
      expect(clock?.detail, skew).toMatch(new RegExp(`the remote's clock is (59\\d|60\\d) s ${side} this machine's`));
      expect(clock?.fix, skew).toContain('leases do not depend on clocks');
    }
  });

  it.concurrent('a live holder of the remote\'s refs/heads/main.lock is waited for by a node ten minutes fast, never broken', { timeout: 120_000 }, async () => {
    const bus = await oneNodeBus('fast', '+10m');
    const lock = join(bus.remote, 'refs', 'heads', 'main.lock');
    const head = gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim();
    // As git's receive-pack holds it: created exclusively, the new value written, kept open.
    const fd = openSync(lock, 'wx');
    writeSync(fd, `${head}\n`);
    const ino = fstatSync(fd).ino;
    let finished: number | null = null;
    const dispatching = run(bus.home, '+10m', ['dispatch', 'behind a live ref lock', '--command', 'true', '--json', '--no-git'], 90_000).then((r) => {
      finished = Date.now();
      return r;
    });
    let released: number;
    try {
      // The dispatch is in its delivery loop once it has queued the handoff in its home.
      // (A dispatch that finished at once, having broken the lock, fails the checks below.)
      await until('the dispatch to queue its handoff', () => finished !== null || (existsSync(join(bus.home, 'queue')) && readdirSync(join(bus.home, 'queue')).some((f) => f.endsWith('.dispatch.json'))), 60_000);
      // Hold it for 3 s more (the holder's own behaviour, not a synchronisation): it must stay ours throughout.
      const end = Date.now() + 3_000;
      while (Date.now() < end) {
        expect(fstatSync(fd).nlink, 'the held lock was unlinked').toBe(1);
        expect(statSync(lock).ino, 'the held lock was replaced').toBe(ino);
        expect(finished, 'the dispatch finished while the ref was locked').toBeNull();
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(fstatSync(fd).nlink).toBe(1);
      expect(statSync(lock).ino).toBe(ino);
    } finally {
      closeSync(fd);
      rmSync(lock, { force: true });
      released = Date.now();
    }
    const r = await dispatching;
    expect(r.code, r.stderr).toBe(0);
    const out = json<{ id: string; queued?: unknown }>(r);
    expect(out.queued).toBeUndefined();
    expect(finished).toBeGreaterThanOrEqual(released);
    expect(ls(bus.remote, 'handoffs')).toContain(`${out.id}.md`);
  });

  it.concurrent('a dead refs/heads/main.lock dated far in the past or far in the future is broken after ~10 s by nodes ten minutes fast and slow', { timeout: 150_000 }, async () => {
    const cases = (['+10m', '-10m'] as const).flatMap((skew) => (['2000-01-01 00:00:00 UTC', '2100-01-01 00:00:00 UTC'] as const).map((dated) => ({ skew, dated })));
    // Each on its own bus, so that no process breaks the lock for another.
    const outcomes = await Promise.allSettled(
      cases.map(async ({ skew, dated }) => {
        const what = `${skew} with a lock dated ${dated}`;
        const bus = await oneNodeBus('n', skew);
        const lock = join(bus.remote, 'refs', 'heads', 'main.lock');
        writeFileSync(lock, `${gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim()}\n`);
        expect(spawnSync('touch', ['-d', dated, lock]).status).toBe(0);
        const started = Date.now();
        const r = await run(bus.home, skew, ['dispatch', 'past a dead ref lock', '--command', 'true', '--json', '--no-git'], 45_000);
        const took = Date.now() - started;
        expect(r.code, `${what}: ${r.stderr}`).toBe(0);
        const out = json<{ id: string; queued?: unknown }>(r);
        expect(out.queued, what).toBeUndefined();
        expect(ls(bus.remote, 'handoffs'), what).toContain(`${out.id}.md`);
        // Broken once it had stayed as it was for 10 s by the dispatcher's own clock: not at once, not never.
        expect(took, what).toBeGreaterThanOrEqual(9_500);
        expect(took, what).toBeLessThan(40_000);
        expect(existsSync(lock), what).toBe(false);
      }),
    );
    expect(outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []))).toEqual([]);
  });

  it.concurrent('an empty lock left in a node\'s home by a crash (clone.lock, and the clone\'s shallow.lock) holds up a node ten minutes slow or fast for ~10 s at most', { timeout: 150_000 }, async () => {
    const bus = await oneNodeBus('exact', null);
    const skewed = [
      { name: 'slow', skew: '-10m' as const },
      { name: 'fast', skew: '+10m' as const },
    ];
    const home = (n: string) => join(bus.dir, `home-${n}`);
    // Through git's upload-pack rather than the direct copy, so that fetching takes the clone's shallow.lock.
    const viaGit = { GITBUS_DIRECT: '0' };
    for (const n of skewed) {
      const j = await run(home(n.name), n.skew, ['join', bus.remote, '--node', n.name, '--json'], 120_000, viaGit);
      expect(j.code, j.stderr).toBe(0);
    }
    // main moves, so the next command of each skewed node fetches.
    const d = await run(bus.home, null, ['dispatch', 'moves main', '--command', 'true', '--json', '--no-git']);
    expect(d.code, d.stderr).toBe(0);
    const id = json<{ id: string }>(d).id;
    const outcomes = await Promise.allSettled(
      skewed.map(async (n) => {
        // A crash between creating the lock and writing its owner: empty files, dated now by the file system.
        const locks = [join(home(n.name), 'clone.lock'), join(home(n.name), 'clone.git', 'shallow.lock')];
        for (const l of locks) writeFileSync(l, '');
        const started = Date.now();
        const r = await run(home(n.name), n.skew, ['status', '--json'], 90_000, viaGit);
        const took = Date.now() - started;
        expect(r.code, `${n.name}: ${r.stderr}`).toBe(0);
        expect(json<{ tasks: { id: string }[] }>(r).tasks.map((t) => t.id), n.name).toContain(id);
        expect(took, n.name).toBeLessThan(40_000);
        // The fetch had to take the shallow lock, so it broke the dead one.
        expect(existsSync(locks[1] ?? ''), n.name).toBe(false);
      }),
    );
    expect(outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []))).toEqual([]);
  });

  it.concurrent('a node ten minutes slow whose watcher runs is not removed by `leave --node` without --force, though its heartbeat\'s own time is older than the lease', { timeout: 120_000 }, async () => {
    // Default lease (5m): the slow node's beats say they are ten minutes old the moment they are written.
    const bus = await oneNodeBus('exact', null);
    const slow = join(bus.dir, 'home-slow');
    await joinNode(slow, bus.remote, { node: 'slow', runners: ['shell'], now: clockOf('-10m') });
    const w = startWatcher(slow, ['--no-serve'], children, skewEnv('-10m'));
    const beating = () => gitCli(['--git-dir', bus.remote, 'for-each-ref', '--format=%(refname)', 'refs/gitbus/heartbeats/']).includes('refs/gitbus/heartbeats/slow');
    await until('the slow watcher to beat', () => beating() && w.events().some((e) => e.type === 'started'), 60_000, () => w.stderr());
    // The exact node's first look: by the slow node's clock it is silent, by the exact node's it has not been watched.
    const r = await run(bus.home, null, ['leave', '--node', 'slow', '--json']);
    expect(r.code, r.stderr).toBe(5);
    const err = json<{ error: { code: string; message: string; fix: string; data: { beatAgeMs: number } } }>(r).error;
    expect(err.code).toBe('NODE_STILL_LIVE');
    expect(err.data.beatAgeMs).toBeGreaterThan(500_000);
    expect(err.message).toContain('by its own clock its last heartbeat is');
    expect(err.fix).toContain('add --force');
    expect(ls(bus.remote, 'nodes')).toContain('slow.md');
    expect(beating()).toBe(true);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });
});
