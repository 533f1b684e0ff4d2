import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBus } from '../bus/ops/init.js';
import { joinBus } from '../bus/ops/join.js';
import { addedWatcherCost, noOpCeiling } from './ceiling.js';
import { cpuShares, type CpuShare } from './cpu-share.js';
import { fileWriteMicros } from './file-write-probe.js';
import { cpuMs } from './process-cpu.js';
import { git, tmp } from './fixtures.js';

// BENCH_CLI: another build's CLI, for a before/after of a watcher change (its rows against this build's).
const CLI = process.env['BENCH_CLI'] ?? fileURLToPath(new URL('../cli/gitbus.mjs', import.meta.url));

export interface Throughput {
  tasks: number;
  seconds: number;
  perSecond: number;
  /** Commits main gained (claims, responses, batched or not) per task. */
  pushesPerTask: number;
  /** Claims that lost a race (a refused push, or picks found taken on reading again) per task, as the watchers report them. */
  lostPerTask: number;
  /** Of those, the refused pushes. */
  rejectedPerTask: number;
  /** CPU the watcher processes and what they ran spent, per task, from the pool's push to the last response. */
  cpuMsPerTask: number;
  /** The machine's minute before and after the row: µs to write a small file (bench/file-write-probe.ts). */
  fileMicros: [number, number];
}

/** A watcher process whose `--json` events are counted: lost races. */
interface Counted {
  child: ChildProcess;
  lost: () => number;
  rejected: () => number;
}

function startWatcher(home: string, share?: CpuShare): Counted {
  const args = [CLI, 'watch', '--json', '--poll', '5s'];
  const env = { ...process.env, GITBUS_HOME: home };
  // In its group from its first instruction: the shell joins it, then becomes the watcher (the same pid).
  const child = share
    ? spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', share.procs, process.execPath, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let lost = 0;
  let rejected = 0;
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.includes('"type":"lost-race"')) continue;
      lost++;
      if (l.includes('"why":"rejected"')) rejected++;
    }
  });
  return { child, lost: () => lost, rejected: () => rejected };
}

/**
 * `watchers` watcher processes (each running `parallel` tasks at once) and a pool of `tasks` shell tasks running
 * `command`, pushed in one commit; the clock starts at that push and stops when the last response is on main.
 */
export async function throughput(tasks: number, watchers: number, opts: { parallel?: number; command?: string; able?: number; shares?: readonly CpuShare[] } = {}): Promise<Throughput> {
  const dir = tmp('gitbus-bench-throughput-');
  const remote = join(dir, 'remote.git');
  await initBus(join(dir, 'boss'), { remote, node: 'boss' });
  const procs: Counted[] = [];
  for (let i = 0; i < watchers; i++) {
    // `able`: only the first watchers have the label the pool's tasks need; the others watch work not theirs.
    const labels = opts.able !== undefined && i < opts.able ? ['pool'] : [];
    await joinBus(join(dir, `w${i}`), remote, { node: `w${i}`, runners: ['shell'], parallel: opts.parallel ?? 1, labels });
    procs.push(startWatcher(join(dir, `w${i}`), opts.shares?.[i]));
  }
  // Start-up and the first heartbeats are not part of the measurement.
  await new Promise((r) => setTimeout(r, 1500 + 150 * watchers));
  const work = join(dir, 'work');
  git(['clone', '-q', remote, work]);
  mkdirSync(join(work, 'handoffs'), { recursive: true });
  const command = JSON.stringify(opts.command ?? 'true');
  const labelLine = opts.able !== undefined ? 'labels: [pool]\n' : '';
  for (let i = 0; i < tasks; i++) writeFileSync(join(work, 'handoffs', `task-${String(i).padStart(4, '0')}.md`), `---\ntitle: task ${i}\ncommand: ${command}\n${labelLine}---\n`);
  git(['add', '-A'], work);
  git(['commit', '-q', '-m', 'pool'], work);
  const before = fileWriteMicros();
  const cpu0 = procs.reduce((s, p) => s + cpuMs(p.child.pid), 0);
  const t0 = performance.now();
  git(['push', '-q', 'origin', 'HEAD:main'], work);
  const pool = git(['rev-parse', 'HEAD'], work).trim();
  const deadline = Date.now() + 600_000;
  for (;;) {
    const n = git(['--git-dir', remote, 'ls-tree', '--name-only', 'main', 'responses/']).split('\n').filter(Boolean).length;
    if (n >= tasks || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = procs.reduce((s, p) => s + cpuMs(p.child.pid), 0) - cpu0;
  const after = fileWriteMicros();
  for (const p of procs) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => new Promise((r) => (p.child.exitCode !== null ? r(null) : p.child.on('exit', r)))));
  const pushes = Number(git(['--git-dir', remote, 'rev-list', '--count', `${pool}..main`]).trim());
  const lost = procs.reduce((s, p) => s + p.lost(), 0);
  const rejected = procs.reduce((s, p) => s + p.rejected(), 0);
  return { tasks, seconds, perSecond: tasks / seconds, pushesPerTask: pushes / tasks, lostPerTask: lost / tasks, rejectedPerTask: rejected / tasks, cpuMsPerTask: cpu / tasks, fileMicros: [before, after] };
}

function line(label: string, t: Throughput, one: Throughput): string {
  return `  ${label.padEnd(26)} ${String(t.tasks).padStart(4)} tasks ${t.seconds.toFixed(1).padStart(6)} s  ${t.perSecond.toFixed(1).padStart(6)} tasks/s  ${(t.perSecond / one.perSecond).toFixed(2)}x one watcher  ${t.pushesPerTask.toFixed(2)} pushes/task  ${t.lostPerTask.toFixed(2)} lost races/task (${t.rejectedPerTask.toFixed(2)} refused pushes)  ${t.cpuMsPerTask.toFixed(0).padStart(4)} ms CPU/task  file writes ${t.fileMicros.map((us) => us.toFixed(0)).join('/')} us`;
}

/** Side by side in one run (issue 14): more watchers must mean more throughput; batching means fewer pushes. */
export async function throughputBench(lines: string[]): Promise<void> {
  lines.push(`load average before the throughput rows: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const n = Number(process.env['BENCH_TASKS'] ?? 300);
  const one = await throughput(n, 1);
  lines.push(`throughput, ${n} no-op tasks (the coordination ceiling), watcher processes on one local remote (1 slot each unless noted):`);
  lines.push(line('1 watcher', one, one));
  const four = await throughput(n, 4);
  lines.push(line('4 watchers', four, one));
  const eight = await throughput(n, 8);
  lines.push(line('8 watchers', eight, one));
  lines.push(line('1 watcher, parallel 8', await throughput(n, 1, { parallel: 8 }), one));
  lines.push(`  8 watchers against 4: ${(eight.perSecond / four.perSecond).toFixed(2)}x (target >= 1: ${eight.perSecond >= four.perSecond ? 'met' : 'MISSED'})`);
  lines.push(`  ${noOpCeiling(one)}`);
  lines.push(`  ${addedWatcherCost(four, eight)}`);
  // Seven watchers whose labels take none of the work beside the one that does it (issue 14, "no herd"): what
  // watchers with nothing to do cost the one working, against that one alone (watcher/idle-looks.ts).
  const alone = await throughput(n, 1, { able: 1 });
  const watched = await throughput(n, 8, { able: 1 });
  lines.push(`throughput, ${n} no-op tasks for one label, one watcher with it, alone and beside 7 watchers without it (idle on a busy bus):`);
  lines.push(line('1 watcher with the label', alone, alone));
  lines.push(line('+ 7 without it', watched, alone));
  lines.push(`  the 7 idle watchers cost the working one ${(watched.perSecond / alone.perSecond).toFixed(2)}x its throughput alone, ${(watched.cpuMsPerTask - alone.cpuMsPerTask).toFixed(0)} ms of CPU a task between them`);
  await cpuShareRows(lines, n);
  // Tasks that take real time, so that the work and not the ref is what watchers share; enough for ~10-20 s a row.
  const per = Number(process.env['BENCH_WORK_TASKS'] ?? 24);
  const command = process.env['BENCH_WORK_COMMAND'] ?? 'sleep 0.5';
  const w1 = await throughput(per, 1, { command });
  lines.push(`throughput, tasks running \`${command}\`, ${per} tasks per watcher, 1 slot each:`);
  lines.push(line('1 watcher', w1, w1));
  const w4 = await throughput(per * 4, 4, { command });
  lines.push(line('4 watchers', w4, w1));
  const w8 = await throughput(per * 8, 8, { command });
  lines.push(line('8 watchers', w8, w1));
  const met = w8.perSecond >= 2 * w1.perSecond && w8.perSecond >= w4.perSecond;
  lines.push(`  target 8 watchers >= 2x one and >= 4 watchers: ${met ? 'met' : 'MISSED'} (8/1 ${(w8.perSecond / w1.perSecond).toFixed(2)}x, 8/4 ${(w8.perSecond / w4.perSecond).toFixed(2)}x)`);
  lines.push(`load average after the throughput rows: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

/**
 * The no-op rows again with each watcher on a CPU share of its own (bench/cpu-share.ts), as a fleet's nodes each have
 * their own machine: a watcher added brings its CPU instead of taking the others'. BENCH_SHARE: the share of a core
 * each (default 0.2, so that 8 watchers use at most 1.6 of two cores).
 */
async function cpuShareRows(lines: string[], n: number): Promise<void> {
  const share = Number(process.env['BENCH_SHARE'] ?? 0.2);
  const groups = cpuShares(8, share);
  if (typeof groups === 'string') {
    lines.push(`throughput with a CPU share of its own for each watcher: skipped (${groups})`);
    return;
  }
  try {
    const one = await throughput(n, 1, { shares: groups.shares });
    lines.push(`throughput, ${n} no-op tasks, each watcher on ${share} of a core of its own (a cgroup's CPU quota: a fleet's nodes, each on its machine):`);
    lines.push(line('1 watcher', one, one));
    const four = await throughput(n, 4, { shares: groups.shares });
    lines.push(line('4 watchers', four, one));
    const eight = await throughput(n, 8, { shares: groups.shares });
    lines.push(line('8 watchers', eight, one));
    const met = eight.perSecond >= 2 * one.perSecond && eight.perSecond >= four.perSecond;
    lines.push(`  target 8 watchers >= 2x one and >= 4 watchers: ${met ? 'met' : 'MISSED'} (8/1 ${(eight.perSecond / one.perSecond).toFixed(2)}x, 8/4 ${(eight.perSecond / four.perSecond).toFixed(2)}x)`);
    // Where the rows stop: not the cores (each watcher has its own share) but main, which takes one push at a time,
    // each decided from the commit before it; a push that costs a task more pushes costs the row tasks.
    const rate = (t: Throughput) => (t.perSecond * t.pushesPerTask).toFixed(1);
    const used = (t: Throughput) => ((t.perSecond * t.cpuMsPerTask) / 1000).toFixed(2);
    lines.push(`  pushes main took a second: 1 watcher ${rate(one)}, 4 watchers ${rate(four)}, 8 watchers ${rate(eight)}; cores in use ${used(one)}, ${used(four)}, ${used(eight)} of the ${(8 * share).toFixed(1)} the 8 shares allow`);
  } finally {
    groups.close();
  }
}
