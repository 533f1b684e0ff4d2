import { afterAll, describe, expect, it } from 'vitest';
import { spawn, execFile, execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, rmSync, utimesSync, watch as fsWatch, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, gitbus, gitCli, json, ROOT, TEST_CACHE_HOME, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';
import { prng } from '../helpers/seeded-random.js';

/**
 * Kill -9 probe (issue #8 point 10): `gitbus dispatch`, `claim --next` and `respond`, each its own OS process, are
 * killed with SIGKILL at a random point of their run, 30 times, on a local bus with a dispatcher node and a worker
 * node (separate homes). After every kill the remote and both clones pass `git fsck`, the next command of the
 * killed one's home works within seconds (and of the other home too, every fifth kill and at the end: it shares
 * only the remote, which fsck and the next command check already), and a dispatch the kill left in the queue is
 * delivered by the next `status`. At the
 * end the bus holds every dispatch that reported success, no claim or response was written twice, and lint is
 * clean. The delays come from a seeded PRNG: `GITBUS_KILL_SEED=<seed>` replays a failing run.
 *
 * What the kills cover, every run: the three commands in turn, each command's kills alternating between a point of
 * its whole run (the loader and Node's start-up included) and a point after its first file change: about ten kills
 * of each command, five of each kind, at points the seed draws anew each run. A claim needs a pending task and a
 * respond a held one: a claim not killed takes one for a respond when the kills left none held; with nothing
 * pending a dispatch goes instead. Fifty kills with the command and the kind drawn at random covered the same six
 * kinds less evenly (a kind could go without a kill in a run, respond had the fewest), for two or three CLI
 * processes per kill.
 */
const KILLS = 30;
const NEXT_COMMAND_MS = 10_000;

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Killed extends RunResult {
  killed: boolean;
  ms: number;
  /** When the first file change in the watched folder was seen (ms after start), or null. */
  ioAt: number | null;
}

/**
 * Runs the CLI as its own process and kills it with SIGKILL `killAfterMs` after it started or, with `watch`, after
 * the first change in that folder (the run reached its file writes: Node's start-up is most of a short command,
 * and kill points drawn over the whole run would mostly land there).
 */
function runAndKill(args: string[], home: string, killAfterMs: number, watch?: string): Promise<Killed> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, GITBUS_HOME: home, XDG_CACHE_HOME: TEST_CACHE_HOME };
    const started = performance.now();
    let ioAt: number | null = null;
    let killer: NodeJS.Timeout | undefined;
    const arm = () => (killer = setTimeout(() => (killed = child.kill('SIGKILL')), killAfterMs));
    const watcher = watch
      ? fsWatch(watch, () => {
          if (ioAt !== null) return;
          ioAt = performance.now() - started;
          arm();
        })
      : null;
    // bin/gitbus.js, as people run gitbus: a kill may land in the loader too (docs/ARCHITECTURE.md "How the CLI starts").
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (!watcher) arm();
    // A command that hangs after all is a finding too: bounded.
    const bound = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gitbus ${args.join(' ')} did not end within 30 s\n${stderr}`));
    }, 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      clearTimeout(bound);
      watcher?.close();
      resolve({ code: code ?? -1, stdout, stderr, killed: killed && signal === 'SIGKILL', ms: performance.now() - started, ioAt });
    });
  });
}

function fsck(gitdir: string): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile('git', ['--git-dir', gitdir, 'fsck', '--no-progress'], { timeout: 20_000 }, (err, stdout, stderr) => resolve({ ok: err === null, out: `${stdout}${stderr}` }));
  });
}

/** Files a killed process may leave behind in a home: temp objects, fetch folders, ref and queue temp files. */
function leftovers(home: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (/^tmp_obj_|^gitbus-reflock\.|^shallow\.gitbus-|\.tmp$|\.lock$/.test(e.name) || (dir.endsWith('gitbus-incoming') && depth > 0)) out.push(p);
      else if (e.isDirectory() && depth < 3) walk(p, depth + 1);
    }
  };
  walk(home, 0);
  return out;
}

function remoteTree(remote: string): Set<string> {
  return new Set(gitCli(['--git-dir', remote, 'ls-tree', '-r', '--name-only', 'main']).trim().split('\n').filter(Boolean));
}

type Op = 'dispatch' | 'claim' | 'respond';

interface Status {
  tasks: { id: string; state: string; claim: { node: string; attempt: number } | null }[];
  queued: unknown[];
}

/**
 * Makes the remote's packed-refs a FIFO and starts a CLI process that reads it at every listing of the remote. It is
 * fed (an empty file: main stays a loose ref) until `until` holds; the process then blocks at its next read and is
 * killed. With `packedMain`, main is packed-refs' only line (its loose file moved there, and put back after): a push
 * under the ref lock reads packed-refs then too, where a loose main would be all it reads.
 */
async function killAtRead(remote: string, home: string, args: string[], until_: () => boolean, packedMain = false): Promise<void> {
  const fifo = join(remote, 'packed-refs');
  const mainFile = join(remote, 'refs', 'heads', 'main');
  const main = packedMain ? gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim() : '';
  rmSync(fifo, { force: true });
  execFileSync('mkfifo', [fifo]);
  if (packedMain) rmSync(mainFile);
  const feed = Buffer.from(packedMain ? `${main} refs/heads/main\n` : '');
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, GITBUS_HOME: home, XDG_CACHE_HOME: TEST_CACHE_HOME }, stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  try {
    await until(`gitbus ${args[0] ?? ''} to reach the point to kill it at`, async () => {
      // Non-blocking: opening fails (ENXIO) while nobody reads; opened and closed at once, the reader gets an
      // empty file.
      for (let i = 0; i < 20 && !until_(); i++) {
        try {
          const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
          try {
            if (feed.length > 0) writeSync(fd, feed);
          } finally {
            closeSync(fd);
          }
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      return until_();
    }, 20_000);
  } finally {
    child.kill('SIGKILL');
    await exited;
    rmSync(fifo, { force: true });
    if (packedMain && !existsSync(mainFile)) writeFileSync(mainFile, `${main}\n`);
  }
}

describe('kill -9 probe', () => {
  it('30 SIGKILLs of dispatch, claim and respond leave every repository sound and the next command working', async () => {
    const seed = Number(process.env['GITBUS_KILL_SEED'] ?? Date.now() % 2 ** 31);
    console.log(`kill probe seed ${seed} (replay with GITBUS_KILL_SEED=${seed})`);
    const rand = prng(seed);
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const boss = bus.home('boss');
    const worker = await bus.addNode('worker');
    const clone = (home: string) => join(home, 'clone.git');

    const dispatchArgs = (i: number) => ['dispatch', `kill probe task ${i}`, '--json', '--no-git'];
    const respondArgs = (id: string) => ['respond', id, '--status', 'succeeded', '--summary', 'done', '--json'];

    // Where each command's file writes show first: the dispatcher's queue, the worker's clone (its contact
    // file is touched at the first listing of the remote).
    mkdirSync(join(boss, 'queue'), { recursive: true });
    const watchOf = (op: Op) => (op === 'dispatch' ? join(boss, 'queue') : clone(worker));
    // One normal run of each command: how long it takes, and how long after its first file change it ends.
    const typical: Record<Op, { ms: number; io: number }> = { dispatch: { ms: 0, io: 0 }, claim: { ms: 0, io: 0 }, respond: { ms: 0, io: 0 } };
    const measure = async (op: Op, args: string[], home: string) => {
      const r = await runAndKill(args, home, 60_000, watchOf(op));
      expect(r.code, r.stderr).toBe(0);
      typical[op] = { ms: r.ms, io: r.ms - (r.ioAt ?? 0) };
      return r;
    };
    const d0 = await measure('dispatch', dispatchArgs(-1), boss);
    const c0 = await measure('claim', ['claim', '--next', '--json'], worker);
    await measure('respond', respondArgs(json<{ id: string }>(c0).id), worker);
    // Each command's kills alternate: at a point of the whole run, then at a point after its first file change.
    const killPlan = (op: Op, afterIo: boolean): { delay: number; watch?: string } =>
      afterIo ? { delay: Math.floor(rand() * typical[op].io * 1.1), watch: watchOf(op) } : { delay: Math.floor(rand() * typical[op].ms * 1.1) };
    const ORDER: Op[] = ['dispatch', 'claim', 'respond'];
    /** Kills planned per command and kind, and how many of them landed (the rest ended first). */
    const kinds = new Map<string, { planned: number; killed: number }>();
    const runs: Record<Op, number> = { dispatch: 0, claim: 0, respond: 0 };

    const succeeded: string[] = [json<{ id: string }>(d0).id];
    const log: string[] = [];
    const maxLeftovers = { boss: 0, worker: 0, remote: 0 };
    const seenLeftovers = new Set<string>();
    let pending = 0;
    let held: string[] = [];
    let queuedSeen = 0;
    for (let i = 0; i < KILLS; i++) {
      // The commands in turn; dispatch keeps work available, claim needs a pending task and respond a held one.
      const turn = ORDER[i % ORDER.length] as Op;
      // A killed claim seldom lands its push, so a respond's turn would mostly find nothing held and go to a claim:
      // a claim that runs to its end takes a pending task for it first.
      if (turn === 'respond' && held.length === 0 && pending > 0) {
        const c = await gitbus(['claim', '--next', '--json'], { home: worker, timeoutMs: NEXT_COMMAND_MS });
        expect(c.code, `the claim for respond #${i} to answer (seed ${seed})\n${c.stderr}`).toBe(0);
        held = [json<{ id: string }>(c).id];
        pending--;
      }
      const op: Op = turn === 'respond' && held.length > 0 ? 'respond' : turn !== 'dispatch' && pending > 0 ? 'claim' : 'dispatch';
      const afterIo = runs[op]++ % 2 === 1;
      const plan = killPlan(op, afterIo);
      const kind = `${op} ${afterIo ? 'after its first file change' : 'in its whole run'}`;
      const home = op === 'dispatch' ? boss : worker;
      const target = held[Math.floor(rand() * held.length)] ?? '';
      const args = op === 'dispatch' ? dispatchArgs(i) : op === 'claim' ? ['claim', '--next', '--json'] : respondArgs(target);
      const r = await runAndKill(args, home, plan.delay, plan.watch);
      const what = `#${i} ${op}${op === 'respond' ? ` ${target}` : ''} killed ${plan.delay} ms after ${plan.watch ? 'its first file change' : 'start'} (seed ${seed}): ${r.killed ? 'killed' : `exit ${r.code}`} (${Math.round(r.ms)} ms)`;
      log.push(what);
      const tally = kinds.get(kind) ?? { planned: 0, killed: 0 };
      kinds.set(kind, { planned: tally.planned + 1, killed: tally.killed + (r.killed ? 1 : 0) });
      if (!r.killed) expect(r.code, `${what}\n${r.stderr}`).toBe(0);
      // A run that ended before its kill shows the measured one was slower than runs are now (the machine's load
      // changes): the next kill points of that command are drawn over this run instead, so that they land.
      if (!r.killed) typical[op] = { ms: r.ms, io: r.ioAt === null ? typical[op].io : r.ms - r.ioAt };
      if (op === 'dispatch' && r.code === 0) succeeded.push(json<{ id: string }>(r).id);

      const [fr, fb, fw] = await Promise.all([fsck(bus.remote), fsck(clone(boss)), fsck(clone(worker))]);
      expect(fr.ok, `remote fsck after ${what}\n${fr.out}`).toBe(true);
      expect(fb.ok, `boss clone fsck after ${what}\n${fb.out}`).toBe(true);
      expect(fw.ok, `worker clone fsck after ${what}\n${fw.out}`).toBe(true);

      // A dispatch the kill left queued is delivered by the next command of its home, once.
      const queued = readdirSync(join(boss, 'queue')).filter((n) => n.endsWith('.dispatch.json')).map((n) => n.slice(0, -'.dispatch.json'.length));
      queuedSeen += queued.length;
      // The next command of the killed one's home; of both every fifth kill and at the last. Each status is a
      // whole CLI process: two after every kill were a third of this probe's CPU.
      const statusAt = performance.now();
      const homes = i % 5 === 4 || i === KILLS - 1 ? [boss, worker] : [home];
      const statuses = await Promise.all(homes.map((h) => gitbus(['status', '--json'], { home: h, timeoutMs: NEXT_COMMAND_MS })));
      log.push(`   ${statuses.length === 2 ? 'statuses' : 'status'} took ${Math.round(performance.now() - statusAt)} ms`);
      statuses.forEach((s, k) => expect(s.code, `${homes[k] === boss ? 'boss' : 'worker'} status after ${what}\n${s.stderr}`).toBe(0));
      const latest = statuses[statuses.length - 1] as RunResult;
      const tree = queued.length > 0 ? remoteTree(bus.remote) : new Set<string>();
      for (const id of queued) expect(tree.has(`handoffs/${id}.md`), `queued ${id} delivered after ${what}`).toBe(true);
      expect(readdirSync(join(boss, 'queue')).filter((n) => n.endsWith('.json')), `queue empty after ${what}`).toEqual([]);

      const status = json<Status>(latest);
      pending = status.tasks.filter((t) => t.state === 'pending').length;
      held = status.tasks.filter((t) => t.state === 'claimed' && t.claim?.node === 'worker').map((t) => t.id);
      maxLeftovers.boss = Math.max(maxLeftovers.boss, leftovers(boss).length);
      maxLeftovers.worker = Math.max(maxLeftovers.worker, leftovers(worker).length);
      maxLeftovers.remote = Math.max(maxLeftovers.remote, leftovers(bus.remote).length);
      for (const p of [...leftovers(boss), ...leftovers(worker), ...leftovers(bus.remote)]) seenLeftovers.add(p);
    }
    console.log(`kill probe: ${log.filter((l) => l.includes(': killed')).length} killed (${[...kinds].map(([k, n]) => `${k}: ${n.killed} of ${n.planned}`).join('; ')}), ${queuedSeen} queued handoffs delivered by status; typical ${JSON.stringify(typical)}; most leftovers ${JSON.stringify(maxLeftovers)}: ${[...seenLeftovers].join(', ')}\n${log.join('\n')}`);

    // Every dispatch that said it succeeded is on the bus.
    const tree = remoteTree(bus.remote);
    for (const id of succeeded) expect(tree.has(`handoffs/${id}.md`), `dispatched ${id}`).toBe(true);
    // No bus file was written twice: each path added once, never changed (a second claim of one attempt, or a
    // second response, would change a file or add one again).
    const history = gitCli(['--git-dir', bus.remote, 'log', '--format=', '--name-status', '--no-renames', 'main']).trim().split('\n').filter(Boolean);
    const added = new Map<string, number>();
    for (const line of history) {
      const [st, path] = line.split('\t') as [string, string];
      if (!/^(handoffs|claims|responses)\//.test(path)) continue;
      expect(st, `${path} changed after it was written`).toBe('A');
      added.set(path, (added.get(path) ?? 0) + 1);
    }
    expect([...added].filter(([, n]) => n > 1)).toEqual([]);
    // Every claim is the task's first attempt: no task was claimed twice.
    for (const p of tree) if (p.startsWith('claims/')) expect(p, 'a second claim of one task').toMatch(/\.1\.md$/);

    // What kills leave does not pile up: leftovers of dead processes older than a minute go at the next command
    // (bus/leftovers.ts); a fresh one, or one whose process still runs, stays.
    const dead = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const old = new Date(Date.now() - 120_000);
    const plant = (path: string, age: Date | null) => {
      writeFileSync(path, 'x');
      if (age) utimesSync(path, age, age);
      return path;
    };
    mkdirSync(join(worker, 'queue'), { recursive: true });
    const gone = [
      plant(join(clone(worker), `gitbus-ref-${dead}-0badf00d.tmp`), old),
      plant(join(clone(worker), `shallow.gitbus-${dead}-k3x9`), old),
      plant(join(worker, 'queue', `x.dispatch.json.${dead}-abcdef.tmp`), old),
      plant(join(worker, `liveness.json.${dead}.tmp`), old),
    ];
    // A lock killed between its creation and writing its owner: empty, and held up every command by 2 s.
    writeFileSync(join(worker, 'liveness.json.lock'), '');
    utimesSync(join(worker, 'liveness.json.lock'), old, old);
    gone.push(join(worker, 'liveness.json.lock'));
    mkdirSync(join(clone(worker), 'gitbus-incoming', `${dead}-12345678`, 'objects'), { recursive: true });
    utimesSync(join(clone(worker), 'gitbus-incoming', `${dead}-12345678`), old, old);
    gone.push(join(clone(worker), 'gitbus-incoming', `${dead}-12345678`));
    const kept = [plant(join(clone(worker), `gitbus-ref-${dead}-0000beef.tmp`), null), plant(join(clone(worker), `gitbus-ref-${process.pid}-1111beef.tmp`), old)];
    const st = await gitbus(['status', '--json'], { home: worker, timeoutMs: NEXT_COMMAND_MS });
    expect(st.code, st.stderr).toBe(0);
    for (const p of gone) expect(existsSync(p), `${p} was swept`).toBe(false);
    for (const p of kept) expect(existsSync(p), `${p} was kept`).toBe(true);
    const lint = await gitbus(['lint', '--json'], { home: boss, timeoutMs: 30_000 });
    expect(lint.code, `${lint.stdout}\n${lint.stderr}`).toBe(0);
  }, 300_000);

  it('a dispatch killed while it holds the remote\'s ref lock does not hold up the next push', async () => {
    // The lock of a direct push is held for a few file operations: to kill a process exactly there, main is
    // packed and it is fed the remote's packed-refs until it has taken refs/heads/main.lock and reads them under it.
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const boss = bus.home('boss');
    const lock = join(bus.remote, 'refs', 'heads', 'main.lock');
    await killAtRead(bus.remote, boss, ['dispatch', 'held the lock', '--json', '--no-git'], () => existsSync(lock), true);
    expect(existsSync(lock), 'the killed dispatch left the lock').toBe(true);
    const marks = () => readdirSync(bus.remote).filter((n) => n.startsWith('gitbus-reflock.'));
    // The lock's other name says whose it was (bus/transport/local-direct.ts).
    expect(marks()).toHaveLength(1);
    // The queued handoff is delivered by the next command, and that command is not held up by the dead lock.
    const started = Date.now();
    const status = await gitbus(['status', '--json'], { home: boss, timeoutMs: 30_000 });
    expect(status.code, status.stderr).toBe(0);
    const took = Date.now() - started;
    expect(json<Status>(status).tasks.map((t) => t.id)).toHaveLength(1);
    expect(existsSync(lock)).toBe(false);
    expect(marks()).toEqual([]);
    // Waiting for a lock whose holder it cannot tell is dead takes a push 10 s (STALE_LOCK_MS in
    // bus/transport/local-direct.ts); a dead holder's lock is broken at once. Measured against the same status
    // without a lock, so that a busy machine's slower processes do not count.
    const baseAt = Date.now();
    expect((await gitbus(['status', '--json'], { home: boss, timeoutMs: 30_000 })).code).toBe(0);
    const base = Date.now() - baseAt;
    expect(took, `the next command waited for a dead lock (${took} ms; without a lock ${base} ms)`).toBeLessThan(base + 7_000);
    expect((await fsck(bus.remote)).ok).toBe(true);
  }, 60_000);

  it('a dispatch killed after queueing its handoff, before delivering it, is delivered once by the next status', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const boss = bus.home('boss');
    const queued = () => readdirSync(join(boss, 'queue')).filter((n) => n.endsWith('.dispatch.json'));
    mkdirSync(join(boss, 'queue'), { recursive: true });
    // Fed until its queue entry exists, it blocks at its first read of the remote's main for the delivery (main is
    // packed, so read from packed-refs: the delivery reads main alone, bus/cas.ts oneRef).
    await killAtRead(bus.remote, boss, ['dispatch', 'queued then killed', '--json', '--no-git'], () => queued().length > 0, true);
    const [entry] = queued();
    expect(entry, 'the killed dispatch left its queue entry').toBeDefined();
    const id = (entry ?? '').slice(0, -'.dispatch.json'.length);
    expect(remoteTree(bus.remote).has(`handoffs/${id}.md`), 'not delivered before the kill').toBe(false);
    const status = await gitbus(['status', '--json'], { home: boss, timeoutMs: NEXT_COMMAND_MS });
    expect(status.code, status.stderr).toBe(0);
    expect(json<Status>(status).tasks.map((t) => t.id)).toEqual([id]);
    expect(queued()).toEqual([]);
    const again = await gitbus(['status', '--json'], { home: boss, timeoutMs: NEXT_COMMAND_MS });
    expect(again.code, again.stderr).toBe(0);
    const adds = gitCli(['--git-dir', bus.remote, 'log', '--format=', '--name-status', 'main', '--', `handoffs/${id}.md`]).trim().split('\n');
    expect(adds).toEqual([`A\thandoffs/${id}.md`]);
    expect((await fsck(bus.remote)).ok).toBe(true);
  }, 60_000);
});
