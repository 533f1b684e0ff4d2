import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBus } from '../bus/context.js';
import { initBus } from '../bus/ops/init.js';
import { joinBus } from '../bus/ops/join.js';
import { dispatch } from '../bus/ops/dispatch.js';
import { watch, type WatchEvent } from '../watcher/watch.js';
import { git, tmp } from './fixtures.js';
import { fmt, summarize, type Sample } from './stats.js';
import { throughputBench } from './throughput.js';

const CLI = fileURLToPath(new URL('../cli/gitbus.mjs', import.meta.url));

/** Dispatch-to-claim latency with the watcher idle: the time from a dispatch's accepted push to the claim. */
async function latency(watchFilesOn: boolean, samples: number, peers = 0): Promise<Sample> {
  const dir = tmp('gitbus-bench-latency-');
  const remote = join(dir, 'remote.git');
  await initBus(join(dir, 'boss'), { remote, node: 'boss' });
  await joinBus(join(dir, 'w'), remote, { node: 'w', runners: ['shell'] });
  // Heartbeat refs of other nodes that never claim: the watcher spreads its claim phase as if they were watchers
  // woken by the same change, and, alone, pays the whole jitter (the worst case; with N real watchers the first
  // claim waits the least of N draws).
  const main = git(['--git-dir', remote, 'rev-parse', 'main']).trim();
  for (let i = 0; i < peers; i++) git(['--git-dir', remote, 'update-ref', `refs/gitbus/heartbeats/peer${i}`, main]);
  // Let the watcher settle after each task, so that every sample starts from idle.
  return dispatchToClaim(join(dir, 'boss'), join(dir, 'w'), { pollMs: watchFilesOn ? 60_000 : 1_000, watchFiles: watchFilesOn, samples, settleMs: () => 50 + Math.random() * 100 });
}

/**
 * Runs a watcher in this process for the node at `workerHome` and dispatches `samples` no-op tasks from
 * `bossHome`, one at a time: the time from each dispatch's accepted push to the watcher's claim.
 */
export async function dispatchToClaim(bossHome: string, workerHome: string, opts: { pollMs: number; watchFiles: boolean; samples: number; settleMs: () => number }): Promise<Sample> {
  const boss = await openBus(bossHome);
  const w = await openBus(workerHome, 'watcher');
  const stop = new AbortController();
  let onClaim: ((id: string) => void) | null = null;
  const finishedIds = new Set<string>();
  const onEvent = (e: WatchEvent) => {
    if (e.type === 'claimed') onClaim?.(e.id);
    if (e.type === 'finished') finishedIds.add(e.id);
  };
  const running = watch(w, { once: false, pollMs: opts.pollMs, watchFiles: opts.watchFiles, stop: stop.signal, onEvent });
  await new Promise((r) => setTimeout(r, 500 + Math.min(opts.pollMs, 1000)));
  const ms: number[] = [];
  for (let i = 0; i < opts.samples; i++) {
    let t0 = 0;
    const claimed = new Promise<number>((resolve) => {
      onClaim = () => resolve(performance.now() - t0);
    });
    const d = await dispatch(boss, { handoff: { title: `latency ${i}`, command: 'true' }, body: '' });
    t0 = performance.now();
    ms.push(await claimed);
    while (!finishedIds.has(d.id)) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, opts.settleMs()));
  }
  stop.abort();
  await running;
  await boss.repo.close();
  await w.repo.close();
  return summarize(ms);
}

function startWatcher(home: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, 'watch', '--json', ...args], { env: { ...process.env, GITBUS_HOME: home }, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Idle watcher: resident memory and CPU over a quiet window (default poll and heartbeat). */
async function idle(windowMs: number): Promise<{ rssMb: number; cpuPercent: number }> {
  const dir = tmp('gitbus-bench-idle-');
  const remote = join(dir, 'remote.git');
  await initBus(join(dir, 'w'), { remote, node: 'w', runners: ['shell'] });
  const child = startWatcher(join(dir, 'w'), []);
  await new Promise((r) => setTimeout(r, 3000));
  const ticks = () => {
    const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(f[11]) + Number(f[12]);
  };
  const before = ticks();
  await new Promise((r) => setTimeout(r, windowMs));
  const cpu = ticks() - before;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  // Linux reports CPU in clock ticks of 1/100 s.
  return { rssMb: rssKb / 1024, cpuPercent: (cpu / 100 / (windowMs / 1000)) * 100 };
}

export async function watcherBench(lines: string[], samples: number): Promise<void> {
  lines.push('## Watcher', '');
  await latencyBench(lines, samples);
  await throughputBench(lines);
  const i = await idle(10_000);
  lines.push(`idle watcher over 10 s: RSS ${i.rssMb.toFixed(0)} MB (target <= 100: ${i.rssMb <= 100 ? 'met' : 'MISSED'}), CPU ${i.cpuPercent.toFixed(2)} % (target <= 1 %: ${i.cpuPercent <= 1 ? 'met' : 'MISSED'})`, '');
}

/** Dispatch-to-claim latency of one idle watcher (BENCH_ONLY=latency runs it alone). */
export async function latencyBench(lines: string[], samples: number): Promise<void> {
  const files = await latency(true, samples);
  const polling = await latency(false, samples);
  const crowded = await latency(true, samples, 7);
  lines.push(`dispatch-to-claim, woken by file watching      median ${fmt(files.median).padStart(7)} ms  p95 ${fmt(files.p95).padStart(7)} ms  (target median <= 150 ms: ${files.median <= 150 ? 'met' : 'MISSED'})`);
  lines.push(`dispatch-to-claim, polling every 1 s (baseline) median ${fmt(polling.median).padStart(7)} ms  p95 ${fmt(polling.p95).padStart(7)} ms  ratio ${(files.median / polling.median).toFixed(2)}x`);
  lines.push(`dispatch-to-claim, file watching, 7 other heartbeat refs (jitter worst case) median ${fmt(crowded.median).padStart(7)} ms  p95 ${fmt(crowded.p95).padStart(7)} ms  ratio ${(crowded.median / files.median).toFixed(2)}x alone (target median <= 150 ms: ${crowded.median <= 150 ? 'met' : 'MISSED'})`);
}
