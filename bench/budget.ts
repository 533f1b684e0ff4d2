import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBus } from '../bus/ops/init.js';
import { joinBus } from '../bus/ops/join.js';
import { budgetOf, presenceMs } from '../bus/model/budget.js';
import { git, tmp } from './fixtures.js';

const CLI = fileURLToPath(new URL('../cli/gitbus.mjs', import.meta.url));

/**
 * The push budget (issue 14), side by side with today's behaviour (every watcher beats every heartbeat, idle or
 * not). Time is compressed by SCALE: heartbeat 30 s / SCALE and pushBudget 6 × SCALE keep every ratio of the
 * GitHub-class defaults, so pushes a minute are reported divided by SCALE, as a real-time fleet would make them.
 * Every ref update the remote takes is counted by a post-receive hook (heartbeats and main alike).
 */
const SCALE = 15;
const HEARTBEAT_S = 30 / SCALE;

function settings(mode: 'today' | 'budget'): string {
  const base = `protocol: 1\nlease: ${(300 / SCALE).toFixed(0)}s\nheartbeat: ${HEARTBEAT_S}s\npoll: ${HEARTBEAT_S}s\narchiveAfter: 1d\nmaxAttempts: 3\n`;
  // Today: presence every heartbeat and a budget so large nothing stretches.
  return mode === 'today' ? `${base}presence: ${HEARTBEAT_S}s\npushBudget: 100000\n` : `${base}pushBudget: ${6 * SCALE}\n`;
}

async function fleet(mode: 'today' | 'budget', nodes: number, parallel: number): Promise<{ remote: string; dir: string; log: string; children: ChildProcess[]; stop: () => Promise<void> }> {
  const dir = tmp(`gitbus-bench-budget-${mode}-`);
  const remote = join(dir, 'remote.git');
  await initBus(join(dir, 'boss'), { remote, node: 'boss' });
  const work = join(dir, 'settings');
  git(['clone', '-q', '-b', 'main', remote, work]);
  writeFileSync(join(work, 'gitbus.yaml'), settings(mode));
  git(['-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-qam', 'settings'], work);
  git(['push', '-q', 'origin', 'HEAD:main'], work);
  const log = join(dir, 'pushlog');
  const hook = join(remote, 'hooks', 'post-receive');
  writeFileSync(hook, `#!/bin/sh\nwhile read old new ref; do echo "$ref" >> '${log}'; done\n`);
  chmodSync(hook, 0o755);
  const children: ChildProcess[] = [];
  for (let i = 0; i < nodes; i++) {
    await joinBus(join(dir, `w${i}`), remote, { node: `w${i}`, runners: ['shell'], parallel });
    children.push(spawn(process.execPath, [CLI, 'watch', '--json'], { env: { ...process.env, GITBUS_HOME: join(dir, `w${i}`) }, stdio: ['ignore', 'ignore', 'inherit'] }));
  }
  const stop = async () => {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => c.on('exit', r))));
  };
  return { remote, dir, log, children, stop };
}

const pushes = (log: string): string[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);

/** Idle: every push the fleet makes over `windowMs`, after the start-up beats. */
async function idleRate(mode: 'today' | 'budget', nodes: number, windowMs: number): Promise<number> {
  const f = await fleet(mode, nodes, 1);
  await new Promise((r) => setTimeout(r, 2 * HEARTBEAT_S * 1000 + 2000));
  const before = pushes(f.log).length;
  await new Promise((r) => setTimeout(r, windowMs));
  const n = pushes(f.log).length - before;
  await f.stop();
  // Per node per real-time minute.
  return (n / nodes / (windowMs / 60_000)) / SCALE;
}

/** Under load: `tasks` no-op tasks in one pool commit; every push until the last response, per task. */
async function loaded(mode: 'today' | 'budget', nodes: number, tasks: number): Promise<{ perTask: number; beatsPerTask: number; seconds: number }> {
  const f = await fleet(mode, nodes, 4);
  await new Promise((r) => setTimeout(r, 1500));
  const work = join(f.dir, 'work');
  git(['clone', '-q', '-b', 'main', f.remote, work]);
  mkdirSync(join(work, 'handoffs'), { recursive: true });
  // Each task runs a while, so that holders beat during the run as they would on real work.
  for (let i = 0; i < tasks; i++) writeFileSync(join(work, 'handoffs', `t-${String(i).padStart(4, '0')}.md`), `---\ntitle: task ${i}\ncommand: "sleep ${HEARTBEAT_S * 2}"\n---\n`);
  git(['add', '-A'], work);
  git(['-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-q', '-m', 'pool'], work);
  const before = pushes(f.log).length;
  const t0 = performance.now();
  git(['push', '-q', 'origin', 'HEAD:main'], work);
  const deadline = Date.now() + 600_000;
  while (git(['--git-dir', f.remote, 'ls-tree', '--name-only', 'main', 'responses/']).split('\n').filter(Boolean).length < tasks && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const seconds = (performance.now() - t0) / 1000;
  const during = pushes(f.log).slice(before + 1);
  await f.stop();
  return { perTask: during.length / tasks, beatsPerTask: during.filter((r) => r.startsWith('refs/gitbus/heartbeats/')).length / tasks, seconds };
}

export async function budgetBench(lines: string[]): Promise<void> {
  const windowMs = Number(process.env['BENCH_BUDGET_WINDOW_MS'] ?? 60_000);
  const nodes = Number(process.env['BENCH_BUDGET_NODES'] ?? 4);
  const tasks = Number(process.env['BENCH_BUDGET_TASKS'] ?? 48);
  lines.push(`push budget (issue 14): ${nodes} watcher processes on one local remote, time compressed ${SCALE}x (heartbeat ${HEARTBEAT_S} s, pushBudget ${6 * SCALE}/min stand for 30 s and 6/min); rates are per real-time minute; every ref update counted by a post-receive hook:`);
  const todayIdle = await idleRate('today', nodes, windowMs);
  const budgetIdle = await idleRate('budget', nodes, windowMs);
  lines.push(`  pushes per idle node per minute   today ${todayIdle.toFixed(3)}   budget ${budgetIdle.toFixed(3)}   ${(budgetIdle / todayIdle).toFixed(3)}x  (window ${windowMs / 1000} s)`);
  const hundred = (100 * 60_000) / presenceMs({ heartbeatMs: 30_000, leaseMs: 300_000, pollMs: 30_000 }, budgetOf({}, false), 100);
  lines.push(`  100 idle nodes, pushes per minute  today ${(100 * 2).toFixed(1)}   budget ${hundred.toFixed(2)} (model; target within 6)`);
  const t = await loaded('today', nodes, tasks);
  const b = await loaded('budget', nodes, tasks);
  lines.push(`  pushes per task under load (${tasks} tasks of ${HEARTBEAT_S * 2} s, parallel 4 each)   today ${t.perTask.toFixed(2)} (${t.beatsPerTask.toFixed(2)} beats)   budget ${b.perTask.toFixed(2)} (${b.beatsPerTask.toFixed(2)} beats)   ${(b.perTask / t.perTask).toFixed(2)}x  (target at most 1.5)`);
  lines.push('');
}
