import { execFile, fork, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBus } from '../bus/ops/init.js';
import { joinBus } from '../bus/ops/join.js';
import { git, tmp } from './fixtures.js';
import { startGitHost, type GitHost } from './git-host.js';
import type { WorkerEvent, WorkerStart } from './fleet-worker.js';
import { against, commitKinds, eventFigures, GITHUB_PUSHES_PER_MINUTE, GITHUB_READS_PER_SECOND, hostFigures, type EventFigures, type HostFigures } from './fleet-stats.js';

/**
 * Issue 14: a simulated fleet of 100 nodes against one remote, idle and under a steady load. The remote is a bare
 * repository behind `git http-backend` (bench/git-host.ts), so every read and every push is an HTTP request the
 * host counts, as GitHub would. The nodes' watchers run in-process in a few worker processes (bench/fleet-worker.ts)
 * with the bus's own settings: the benchmark measures whatever poll, heartbeat and claim behaviour the code has.
 *
 * BENCH_ONLY=fleet npm run bench; BENCH_FLEET_MINUTES per phase (default 10), BENCH_FLEET_NODES (100),
 * BENCH_FLEET_WORKERS (4), BENCH_FLEET_TASKS tasks per dispatch commit (10), BENCH_FLEET_DISPATCH_EVERY seconds
 * between dispatch commits (60), BENCH_FLEET_TASK_SECONDS how long each task runs (10), BENCH_FLEET_LISTINGS=backend
 * to answer every ref listing with a git http-backend process too (by default the host's server answers them).
 */

const CLI = fileURLToPath(new URL('../cli/gitbus.mjs', import.meta.url));
const WORKER = fileURLToPath(new URL('./fleet-worker.js', import.meta.url));

/** Ref listings answered by the host's server itself (git-host-refs.ts), unless BENCH_FLEET_LISTINGS=backend. */
const LISTINGS_IN_PROCESS = process.env['BENCH_FLEET_LISTINGS'] !== 'backend';

const num = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

interface Phase {
  name: string;
  start: number;
  end: number;
  mainBefore: string;
  mainAfter: string;
  usage: Usage;
  dispatchCommits: number;
  dispatched: number;
  /** What `dispatch --from` said each time it failed. */
  dispatchFailures: string[];
  /** The machine's 1-minute load average at the phase's end (other work on the machine shows here). */
  load: number;
}

interface Usage {
  /** CPU of the worker processes (watchers, their task processes) as % of one core over the phase, summed. */
  workersCpu: number;
  /** Highest resident memory of a worker seen in the phase, MB, and the sum of the workers' highest. */
  workerRssMaxMb: number;
  workersRssMb: number;
  /** CPU of this process and its children (the HTTP host, its http-backend processes, the dispatcher) as % of one core. */
  hostCpu: number;
}

/** utime+stime+cutime+cstime of a process, in clock ticks (1/100 s on Linux). */
function cpuTicks(pid: number | 'self'): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
}

/** Samples the workers' memory every 5 s until stopped; CPU from /proc at both ends. */
function usageMeter(workers: ChildProcess[]): () => Usage {
  const t0 = Date.now();
  const pids = workers.map((w) => w.pid ?? 0);
  const cpu0 = pids.map((p) => cpuTicks(p));
  const self0 = cpuTicks('self');
  const rssMax = pids.map((p) => rssMb(p));
  const timer = setInterval(() => pids.forEach((p, i) => (rssMax[i] = Math.max(rssMax[i] ?? 0, rssMb(p)))), 5000);
  return () => {
    clearInterval(timer);
    pids.forEach((p, i) => (rssMax[i] = Math.max(rssMax[i] ?? 0, rssMb(p))));
    const seconds = (Date.now() - t0) / 1000;
    const workerTicks = pids.reduce((n, p, i) => n + cpuTicks(p) - (cpu0[i] ?? 0), 0);
    return {
      workersCpu: workerTicks / seconds,
      workerRssMaxMb: Math.max(...rssMax),
      workersRssMb: rssMax.reduce((a, b) => a + b, 0),
      hostCpu: (cpuTicks('self') - self0) / seconds,
    };
  };
}

/** Runs `fn` over `items`, `limit` at a time. */
async function inBatches<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function mainOf(remote: string): string {
  return git(['--git-dir', remote, 'rev-parse', 'refs/heads/main']).trim();
}

/**
 * One `gitbus dispatch --from` process: `count` tasks that each run `sleep seconds`, in one commit. Returns the ids,
 * or what the command said when it failed (a dispatcher losing too many races is a finding, not a crash).
 */
function dispatchBatch(home: string, dir: string, round: number, count: number, seconds: number): Promise<{ ids: string[]; failure?: string }> {
  const file = join(dir, `batch-${round}.jsonl`);
  writeFileSync(file, Array.from({ length: count }, (_, i) => JSON.stringify({ title: `fleet load ${round}.${i}`, command: `sleep ${seconds}` })).join('\n') + '\n');
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'dispatch', '--from', file, '--no-repo', '--json'], { cwd: dir, env: { ...process.env, GITBUS_HOME: home }, timeout: 300_000 }, (err, stdout, stderr) => {
      if (err) return resolve({ ids: [], failure: `exit ${String(err.code ?? err.signal)}: ${`${stdout} ${stderr}`.replace(/\s+/g, ' ').trim().slice(0, 300)}` });
      try {
        resolve({ ids: (JSON.parse(stdout) as { ids: string[] }).ids });
      } catch {
        resolve({ ids: [], failure: `unreadable output: ${stdout.slice(0, 200)}` });
      }
    });
  });
}

function waitFor(what: string, ms: number, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (ready()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`fleet bench: ${what} did not happen within ${Math.round(ms / 1000)} s`));
      setTimeout(tick, 200);
    };
    tick();
  });
}

export async function fleetBench(lines: string[]): Promise<void> {
  const nodes = Math.round(num('BENCH_FLEET_NODES', 100));
  const workerCount = Math.min(nodes, Math.round(num('BENCH_FLEET_WORKERS', 4)));
  const phaseMs = num('BENCH_FLEET_MINUTES', 10) * 60_000;
  const perCommit = Math.round(num('BENCH_FLEET_TASKS', 10));
  const everyMs = num('BENCH_FLEET_DISPATCH_EVERY', 60) * 1000;
  const taskSeconds = num('BENCH_FLEET_TASK_SECONDS', 10);
  const staggerMs = 30_000;
  const drainMs = Math.min(phaseMs, 5 * 60_000);

  const dir = tmp('gitbus-bench-fleet-');
  const remote = join(dir, 'srv', 'bus.git');
  const workers: ChildProcess[] = [];
  let host: GitHost | null = null;
  const events: WorkerEvent[] = [];
  const out = (s: string) => process.stderr.write(`[fleet] ${s}\n`);
  try {
    // The bus is made on the host's disk; every node, the dispatcher included, reaches it only over HTTP.
    await initBus(join(dir, 'setup'), { remote, node: 'setup' });
    host = await startGitHost(join(dir, 'srv'), { listingsInProcess: LISTINGS_IN_PROCESS });
    const url = `${host.url}/bus.git`;
    const t0 = Date.now();
    await joinBus(join(dir, 'boss'), url, { node: 'boss' });
    const names = Array.from({ length: nodes }, (_, i) => `node-${String(i).padStart(3, '0')}`);
    await inBatches(names, 8, (node) => joinBus(join(dir, node), url, { node, runners: ['shell'], parallel: 1 }));
    const joinSeconds = (Date.now() - t0) / 1000;
    out(`${nodes} nodes joined over HTTP in ${joinSeconds.toFixed(1)} s`);

    for (let w = 0; w < workerCount; w++) {
      const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.on('message', (m: WorkerEvent | { type: 'stopped' }) => {
        if (m.type === 'event') events.push(m);
      });
      workers.push(child);
      const homes = names.filter((_, i) => i % workerCount === w).map((n) => join(dir, n));
      child.send({ type: 'start', homes, staggerMs, graceMs: 2000 } satisfies WorkerStart);
    }
    const started = () => new Set(events.filter((e) => e.event === 'started').map((e) => e.node)).size;
    await waitFor(`${nodes} watchers starting`, staggerMs + 180_000, () => started() + events.filter((e) => e.event === 'watch-failed').length >= nodes);
    const failed = events.filter((e) => e.event === 'watch-failed');
    if (failed.length) throw new Error(`fleet bench: ${failed.length} watchers failed to start: ${failed[0]?.message ?? ''}`);
    // Past the start-up (node cards, first heartbeats), so that the idle phase sees the fleet as it lives.
    await sleep(15_000);
    out(`${started()} watchers running in ${workerCount} processes; phases of ${phaseMs / 60_000} min`);

    const dispatchedAt = new Map<string, number>();
    const phases: Phase[] = [];
    const runPhase = async (name: string, load: boolean): Promise<void> => {
      const mainBefore = mainOf(remote);
      const meter = usageMeter(workers);
      const start = Date.now();
      const end = start + phaseMs;
      let commits = 0;
      let dispatched = 0;
      const failures: string[] = [];
      if (load) {
        // A commit is counted when it reached main: a failed dispatch is reported, and the next one comes on time.
        for (let round = 0; Date.now() + 1000 < end; round++) {
          const due = start + round * everyMs;
          if (due >= end) break;
          await sleep(Math.max(0, due - Date.now()));
          const { ids, failure } = await dispatchBatch(join(dir, 'boss'), dir, round, perCommit, taskSeconds);
          if (failure) {
            failures.push(failure);
            out(`dispatch round ${round} failed: ${failure}`);
          }
          const at = Date.now();
          for (const id of ids) dispatchedAt.set(id, at);
          if (ids.length) commits++;
          dispatched += ids.length;
        }
      }
      await sleep(Math.max(0, end - Date.now()));
      phases.push({ name, start, end, mainBefore, mainAfter: mainOf(remote), usage: meter(), dispatchCommits: commits, dispatched, dispatchFailures: failures, load: loadavg()[0] ?? NaN });
      out(`phase ${name} done`);
    };
    await runPhase('idle', false);
    await runPhase('load', true);
    // Not part of the load phase's figures: how long the fleet takes to finish what was dispatched (bounded).
    const drainStart = Date.now();
    // Answered as the host sees it (a response file on main), not as late worker events say.
    const unanswered = () => {
      const answered = new Set(git(['--git-dir', remote, 'ls-tree', '--name-only', 'refs/heads/main', 'responses/']).split('\n').map((f) => f.replace(/^responses\/|\.md$/g, '')));
      return [...dispatchedAt.keys()].filter((id) => !answered.has(id)).length;
    };
    await waitFor('drain', drainMs, () => unanswered() === 0).catch(() => undefined);
    const drain = { seconds: (Date.now() - drainStart) / 1000, left: unanswered(), boundSeconds: drainMs / 1000 };

    report(lines, { nodes, workerCount, phaseMs, perCommit, everyMs, taskSeconds, joinSeconds, peak: host.inFlight().peak, drain }, phases.map((p) => ({ phase: p, host: hostFigures((host as GitHost).log, p.start, p.end), events: eventFigures(events, p.start, p.end, dispatchedAt), kinds: commitKinds(subjects(remote, p)), landed: landed(remote, p) })));
  } finally {
    await stopWorkers(workers);
    await host?.close();
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * Claims and responses that reached main in the phase, counted on the host (files added under claims/ and
 * responses/): the host's truth, which does not depend on when a busy worker got round to reporting an event.
 */
function landed(remote: string, p: Phase): { claims: number; responses: number } {
  if (p.mainBefore === p.mainAfter) return { claims: 0, responses: 0 };
  const added = git(['--git-dir', remote, 'diff', '--name-only', '--diff-filter=A', p.mainBefore, p.mainAfter, '--', 'claims/', 'responses/']).split('\n');
  return { claims: added.filter((f) => f.startsWith('claims/')).length, responses: added.filter((f) => f.startsWith('responses/')).length };
}

function subjects(remote: string, p: Phase): string[] {
  if (p.mainBefore === p.mainAfter) return [];
  return git(['--git-dir', remote, 'log', '--format=%s', `${p.mainBefore}..${p.mainAfter}`]).split('\n').filter(Boolean);
}

/** Asks every worker to stop its watchers; one that has not exited within 60 s is killed. */
async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.exitCode !== null || w.signalCode !== null) return resolve();
          const kill = setTimeout(() => w.kill('SIGKILL'), 60_000);
          w.once('exit', () => (clearTimeout(kill), resolve()));
          if (w.connected) w.send({ type: 'stop' });
          else w.kill('SIGTERM');
        }),
    ),
  );
}

interface Setup {
  nodes: number;
  workerCount: number;
  phaseMs: number;
  perCommit: number;
  everyMs: number;
  taskSeconds: number;
  joinSeconds: number;
  peak: number;
  /** After the load stopped: how long until every dispatched task was finished (or the bound), and how many were not. */
  drain: { seconds: number; left: number; boundSeconds: number };
}

function report(lines: string[], s: Setup, rows: { phase: Phase; host: HostFigures; events: EventFigures; kinds: Map<string, number>; landed: { claims: number; responses: number } }[]): void {
  const perMin = (n: number, h: HostFigures) => (n / h.seconds) * 60;
  const tasksPerMin = (s.perCommit * 60_000) / s.everyMs;
  lines.push(`## A fleet of ${s.nodes} nodes on one remote over smart HTTP (issue 14)`, '');
  lines.push(
    `${s.nodes} nodes (1 slot each, shell runner, the bus's default settings), watchers in-process in ${s.workerCount} worker processes, started at random within 30 s;`,
    `the remote: git http-backend behind a Node HTTP server on 127.0.0.1 that counts every request${LISTINGS_IN_PROCESS ? ' (ref listings after the first answered by the server from the ref files, as a hosting service does: BENCH_FLEET_LISTINGS=backend for a process each)' : ' (every request a git http-backend process)'}. ${s.nodes} joins took ${s.joinSeconds.toFixed(1)} s.`,
    `Phases of ${(s.phaseMs / 60_000).toFixed(1)} min: idle (no tasks), then load: one \`dispatch --from\` commit every ${s.everyMs / 1000} s with ${s.perCommit} tasks of \`sleep ${s.taskSeconds}\``,
    `(${tasksPerMin.toFixed(1)} tasks/min, ${(tasksPerMin / 60).toFixed(2)} tasks/s). At the issue's target of 1.5 pushes a task that load alone would be ${(tasksPerMin * 1.5).toFixed(0)} pushes/min;`,
    `GitHub's 6 pushes/min carry at most ${(GITHUB_PUSHES_PER_MINUTE / 1.5).toFixed(0)} tasks/min at that target, with nothing left for presence.`,
    `machine load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores`,
    '',
  );
  const head = `| measure | ${rows.map((r) => r.phase.name).join(' | ')} |`;
  lines.push(head, `| --- |${rows.map(() => ' --- |').join('')}`);
  const add = (label: string, cell: (r: (typeof rows)[number]) => string) => lines.push(`| ${label} | ${rows.map(cell).join(' | ')} |`);
  add('pushes/min (against GitHub 6/min)', (r) => `**${perMin(r.host.pushes, r.host).toFixed(1)}** (${against(perMin(r.host.pushes, r.host), GITHUB_PUSHES_PER_MINUTE)})`);
  add('  heartbeat pushes/min', (r) => perMin(r.host.heartbeatPushes, r.host).toFixed(1));
  add('  main pushes/min (accepted + refused)', (r) => `${perMin(r.host.mainPushes, r.host).toFixed(1)} (${r.host.mainPushes - r.host.mainRefused} + ${r.host.mainRefused})`);
  add('  other refs pushes/min', (r) => perMin(r.host.otherPushes, r.host).toFixed(1));
  add('  pushes per node per minute', (r) => (perMin(r.host.pushes, r.host) / s.nodes).toFixed(2));
  add('  refs updated per push', (r) => r.host.refsPerPush.toFixed(2));
  add('commits on main, by kind', (r) => [...r.kinds].map(([k, n]) => `${k} ${n}`).join(', ') || 'none');
  add('reads/s mean (against GitHub 15/s)', (r) => `**${r.host.readsPerSecond.toFixed(2)}** (${against(r.host.readsPerSecond, GITHUB_READS_PER_SECOND)})`);
  add('reads/s, busiest 10 s', (r) => `${r.host.peakReadsPerSecond.toFixed(1)} (${against(r.host.peakReadsPerSecond, GITHUB_READS_PER_SECOND)})`);
  add('  ref listings / fetches', (r) => `${r.host.lists} / ${r.host.fetches}`);
  add('tasks dispatched (commits) / claimed / answered, on main', (r) => `${r.phase.dispatched} (${r.phase.dispatchCommits}) / ${r.landed.claims} / ${r.landed.responses}`);
  add('  the same as watcher events: claimed / finished', (r) => `${r.events.claimed} / ${r.events.finished}`);
  add('tasks/s done (responses on main)', (r) => (r.landed.responses / r.host.seconds).toFixed(3));
  add('pushes per task done (all / main only)', (r) => (r.landed.responses ? `${(r.host.pushes / r.landed.responses).toFixed(1)} / ${(r.host.mainPushes / r.landed.responses).toFixed(1)}` : '-'));
  add('lost races per task (refused main pushes / claims on main)', (r) => (r.landed.claims ? `**${(r.host.mainRefused / r.landed.claims).toFixed(1)}** (${r.host.mainRefused})` : `- (${r.host.mainRefused} refused)`));
  add('lost races from watcher events', (r) => (r.events.lostRaceEvents === null ? 'no such event yet' : String(r.events.lostRaceEvents)));
  add('dispatch-to-claim median / p95', (r) => (r.events.dispatchToClaimMs.n ? `${(r.events.dispatchToClaimMs.median / 1000).toFixed(1)} / ${(r.events.dispatchToClaimMs.p95 / 1000).toFixed(1)} s` : '-'));
  add('worker CPU, % of one core (all workers)', (r) => r.phase.usage.workersCpu.toFixed(1));
  add('worker RSS, MB (largest / all)', (r) => `${r.phase.usage.workerRssMaxMb.toFixed(0)} / ${r.phase.usage.workersRssMb.toFixed(0)}`);
  add('host CPU, % of one core (server, http-backend, dispatcher)', (r) => r.phase.usage.hostCpu.toFixed(1));
  add('host request time median / p95', (r) => `${r.host.requestMs.median} / ${r.host.requestMs.p95} ms`);
  add('refused pushes, by reason', (r) => [...r.host.refusedBecause].map(([k, n]) => `${k || '(none)'} ${n}`).join(', ') || 'none');
  add('machine load average at the phase end', (r) => `${r.phase.load.toFixed(1)} on ${cpus().length} cores`);
  add('HTTP errors / pushes without report', (r) => `${r.host.httpErrors} / ${r.host.unreported}`);
  add('watcher events', (r) => [...r.events.byType].map(([k, n]) => `${k} ${n}`).join(', ') || 'none');
  lines.push('', `most http-backend processes at once (whole run, joins included): ${s.peak}`);
  lines.push(
    s.drain.left === 0
      ? `after the load phase every dispatched task was answered on main within ${s.drain.seconds.toFixed(0)} s`
      : `after the load phase ${s.drain.left} dispatched task(s) were still not answered on main after ${s.drain.seconds.toFixed(0)} s (bound ${s.drain.boundSeconds.toFixed(0)} s)`,
  );
  for (const r of rows) for (const e of r.events.errors) lines.push(`${r.phase.name}: ${e}`);
  for (const r of rows) for (const f of r.phase.dispatchFailures) lines.push(`${r.phase.name}: dispatch --from failed: ${f}`);
  lines.push('');
}
