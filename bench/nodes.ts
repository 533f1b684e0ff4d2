import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBus } from '../bus/context.js';
import { publishHeartbeat } from '../bus/ops/heartbeat.js';
import { initBus } from '../bus/ops/init.js';
import { joinBus } from '../bus/ops/join.js';
import { tmp } from './fixtures.js';
import { childCpuMs, fmt, row, summarize } from './stats.js';

const BIN = fileURLToPath(new URL('../../bin/gitbus.js', import.meta.url));
const TARGET = 1.3;

/**
 * Issue 14's title, "no command may cost more as the bus grows", for the number of nodes: `status` and `dispatch` as
 * whole processes on a local bus of `nodes` live nodes (each with a card and a heartbeat) against the same on a bus
 * of one, taking turns, `runs` each. Status twice over: with every heartbeat as the last status saw it (a fleet
 * whose nodes mark presence rarely, and any status run within a heartbeat of the one before), and with every node
 * having beaten since (each of its heartbeat commits new to this node: read once, bus/ops/beat-cache.ts).
 */
export async function nodesBench(lines: string[], nodes: number, runs: number): Promise<void> {
  const dir = tmp('gitbus-bench-nodes-');
  const one = await fleet(join(dir, 'one'), 1);
  const many = await fleet(join(dir, 'many'), nodes);
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
  delete env['GITBUS_HOME'];
  const run = (args: string[]): { wall: number; cpu: number } => {
    const before = childCpuMs();
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const wall = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`gitbus ${args.join(' ')} exited ${String(r.status)}: ${r.stderr.toString()}`);
    return { wall, cpu: (childCpuMs() ?? 0) - (before ?? 0) };
  };
  // Each side's caches (parse cache, code cache, heartbeats) written once before the samples.
  for (const f of [one, many]) run(['status', '--home', f.home]);
  const cases = [
    { label: 'status, heartbeats as last seen', args: (h: string) => ['status', '--home', h], beat: false },
    { label: 'status, every node beat since', args: (h: string) => ['status', '--home', h], beat: true },
    { label: 'dispatch', args: (h: string) => ['dispatch', 'nodes probe', '--no-git', '--home', h], beat: false },
  ];
  const out: string[] = [];
  for (const c of cases) {
    const samples = { one: [] as number[], many: [] as number[], cpuOne: 0, cpuMany: 0 };
    for (let i = 0; i < runs; i++) {
      if (c.beat) await Promise.all([one.beatAll(), many.beatAll()]);
      const a = run(c.args(one.home));
      const b = run(c.args(many.home));
      samples.one.push(a.wall);
      samples.many.push(b.wall);
      samples.cpuOne += a.cpu;
      samples.cpuMany += b.cpu;
    }
    const cpu = `  CPU mean ${fmt(samples.cpuMany / runs)} ms against ${fmt(samples.cpuOne / runs)} ms (${(samples.cpuMany / Math.max(1, samples.cpuOne)).toFixed(2)}x)`;
    out.push(row(`${c.label}, ${nodes} live nodes`, summarize(samples.many), summarize(samples.one), c.beat ? undefined : TARGET) + cpu);
  }
  lines.push(`## ${nodes} live nodes against one (${runs} runs each, taking turns; whole processes)`, '', ...out, '', `baseline: the same command on a bus of one live node; target <= ${TARGET}x where every heartbeat is as the last status saw it`, '');
}

/** A local bus of `n` nodes, each joined, with a card and a heartbeat; status is run from the first one's home. */
async function fleet(dir: string, n: number): Promise<{ home: string; beatAll: () => Promise<void> }> {
  const homes = [join(dir, 'n0')];
  await initBus(homes[0] as string, { remote: join(dir, 'remote.git'), node: 'n0' });
  for (let i = 1; i < n; i++) {
    homes.push(join(dir, `n${i}`));
    await joinBus(homes[i] as string, join(dir, 'remote.git'), { node: `n${i}`, runners: ['shell'] });
  }
  const beatAll = async () => {
    for (const h of homes) {
      const ctx = await openBus(h);
      try {
        await publishHeartbeat(ctx, [], { everyMs: 30_000 });
      } finally {
        await ctx.repo.close();
      }
    }
  };
  await beatAll();
  return { home: homes[0] as string, beatAll };
}
