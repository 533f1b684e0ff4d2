import { cpus, totalmem, platform, release as osRelease } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderBusFile, renderSettings } from '../schemas/bus-file.js';
import { DEFAULT_SETTINGS } from '../schemas/settings.js';
import { openBus, type BusContext } from '../bus/context.js';
import { saveNodeConfig } from '../bus/home.js';
import { initBus } from '../bus/ops/init.js';
import { joinBus } from '../bus/ops/join.js';
import { dispatch } from '../bus/ops/dispatch.js';
import { claim } from '../bus/ops/claim.js';
import { busStatus } from '../bus/ops/status.js';
import { cliCycle } from './cli-cycle.js';
import { git, historyRemote, tmp } from './fixtures.js';
import { projectBench } from './project.js';
import { projectRefsBench } from './project-refs.js';
import { archiveBench } from './archive.js';
import { bulkBench } from './bulk.js';
import { pendingBench } from './pending.js';
import { cloneBench } from './clone.js';
import { archiveTipBench } from './archive-tip.js';
import { nodesBench } from './nodes.js';
import { sshBench } from './ssh.js';
import { startupBench } from './startup.js';
import { latencyBench, watcherBench } from './watcher.js';
import { budgetBench } from './budget.js';
import { throughputBench } from './throughput.js';
import { fleetBench } from './fleet.js';
import { fmt, row, summarize, time, type Sample } from './stats.js';

const CLI = fileURLToPath(new URL('../cli/gitbus.mjs', import.meta.url));
const CYCLES = Number(process.env['BENCH_CYCLES'] ?? 40);
const FINISHED = Number(process.env['BENCH_FINISHED'] ?? 20_000);

function machine(): string {
  const c = cpus();
  return `${c[0]?.model ?? 'unknown cpu'} x${c.length}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${platform()} ${osRelease()}, node ${process.version}, ${execFileSync('git', ['--version'], { encoding: 'utf8' }).trim()}`;
}

async function dispatchMany(ctx: BusContext, n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await dispatch(ctx, { handoff: { title: `${prefix} ${i}` }, body: '## Task\n\nbench\n' })).id);
  return ids;
}

async function claimCycle(lines: string[], direct: boolean): Promise<void> {
  // BusRepo decides once per repository whether it may write the remote directly.
  if (direct) delete process.env['GITBUS_DIRECT'];
  else process.env['GITBUS_DIRECT'] = '0';
  const dir = tmp('gitbus-bench-cycle-');
  const remote = join(dir, 'remote.git');
  await initBus(join(dir, 'a'), { remote, node: 'claimer' });
  await joinBus(join(dir, 'b'), remote, { node: 'other' });
  const a = await openBus(join(dir, 'a'));
  const b = await openBus(join(dir, 'b'));
  const ids = await dispatchMany(b, CYCLES * 4 + 10, 'cycle');
  const work = join(dir, 'work');
  git(['clone', '-q', remote, work]);
  const take = () => ids.shift() as string;

  // Warm up both paths (module loading, page cache).
  for (let i = 0; i < 3; i++) await claim(a, { id: take() });
  for (let i = 0; i < 3; i++) await cliCycle(work, take());

  const oursSteady: number[] = [];
  const cliSteady: number[] = [];
  const oursMoved: number[] = [];
  const cliMoved: number[] = [];
  for (let i = 0; i < CYCLES; i++) {
    // Alternate so that both see the same machine state over time.
    const ida = take();
    await a.repo.sync();
    oursSteady.push(await time(() => claim(a, { id: ida })));
    const idc = take();
    git(['fetch', '-q', 'origin', 'main'], work);
    git(['merge', '-q', '--ff-only', 'FETCH_HEAD'], work);
    cliSteady.push(await time(() => cliCycle(work, idc)));
  }
  for (let i = 0; i < CYCLES; i++) {
    await dispatch(b, { handoff: { title: 'moves main' }, body: '' });
    const ida = take();
    oursMoved.push(await time(() => claim(a, { id: ida })));
    await dispatch(b, { handoff: { title: 'moves main' }, body: '' });
    const idc = take();
    cliMoved.push(await time(() => cliCycle(work, idc)));
  }
  const s = (x: number[]): Sample => summarize(x);
  const how = direct ? 'direct file access, no git process' : 'through git receive-pack/upload-pack (GITBUS_DIRECT=0)';
  lines.push(`## Claim cycle on a local bare remote (fetch, decide, commit, push): ${how}`, '');
  lines.push(row('gitbus claim, remote unchanged since last sync', s(oursSteady), s(cliSteady), 1.2));
  lines.push(row('gitbus claim, remote moved (fetch needed)', s(oursMoved), s(cliMoved), 1.2));
  lines.push('', 'baseline: git CLI fetch + merge --ff-only + write + add + commit + push in a clone of the same remote', '');
  await a.repo.close();
  await b.repo.close();
  delete process.env['GITBUS_DIRECT'];
}

async function historyCost(lines: string[]): Promise<void> {
  const settings = renderSettings(DEFAULT_SETTINGS);
  const card = renderBusFile('node', { node: 'bench' }, '');
  const measure = async (home: string, label: string) => {
    // The whole command as a person runs it (process start included), then the operation in-process.
    const cliStatus: number[] = [];
    for (let i = 0; i < Math.min(CYCLES, 15); i++) cliStatus.push(await time(async () => execFileSync(process.execPath, [CLI, 'status', '--json', '--home', home], { stdio: 'ignore' })));
    const ctx = await openBus(home);
    const ids = await dispatchMany(ctx, CYCLES + 3, label);
    for (let i = 0; i < 3; i++) await busStatus(ctx);
    const status: number[] = [];
    const claims: number[] = [];
    for (let i = 0; i < CYCLES; i++) status.push(await time(() => busStatus(ctx)));
    for (const id of ids.slice(0, CYCLES)) claims.push(await time(() => claim(ctx, { id })));
    await ctx.repo.close();
    return { status: summarize(status), claim: summarize(claims), cli: summarize(cliStatus) };
  };

  const emptyDir = tmp('gitbus-bench-empty-');
  await initBus(join(emptyDir, 'home'), { remote: join(emptyDir, 'remote.git'), node: 'empty' });
  const empty = await measure(join(emptyDir, 'home'), 'empty');

  const histDir = tmp('gitbus-bench-history-');
  const t0 = Date.now();
  const remote = historyRemote(histDir, FINISHED, settings, card);
  const built = Date.now() - t0;
  const commits = git(['--git-dir', remote, 'rev-list', '--count', 'main']).trim();
  const t1 = Date.now();
  await joinBus(join(histDir, 'joined'), remote, { node: 'joined' });
  const joinMs = Date.now() - t1;
  const shallow = await measure(join(histDir, 'joined'), 'shallow');

  // A clone made with `git clone` (the whole history in one big pack), which gitbus itself never makes: the
  // worst case for object lookups, since packed objects are read through isomorphic-git.
  const full = join(histDir, 'full');
  git(['clone', '-q', '--bare', remote, join(full, 'clone.git')]);
  await saveNodeConfig(full, { node: 'bench', remote, labels: [], runners: [], parallel: 1 });
  const deep = await measure(full, 'full');

  lines.push(`## ${FINISHED} finished tasks behind the bus, against an empty bus`, '');
  lines.push(`history: ${commits} commits on main, ${FINISHED} tasks on the archive branch (built in ${built} ms); join (shallow clone) took ${joinMs} ms`, '');
  lines.push(row('gitbus status process, joined node (shallow clone)', shallow.cli, empty.cli, 1.3));
  lines.push(row('gitbus status process, git-cloned full history (*)', deep.cli, empty.cli, 1.3));
  lines.push(row('status, joined node (shallow clone)', shallow.status, empty.status, 1.3));
  lines.push(row('claim, joined node (shallow clone)', shallow.claim, empty.claim, 1.3));
  lines.push(row('status, git-cloned full history (*)', deep.status, empty.status, 1.3));
  lines.push(row('claim, git-cloned full history (*)', deep.claim, empty.claim, 1.3));
  lines.push('', '(*) a clone made with `git clone`, one big pack; gitbus joins shallow and keeps objects loose, so its nodes never look like this.');
  lines.push('', `baseline: the same operation on an empty bus (status median ${fmt(empty.status.median)} ms, claim median ${fmt(empty.claim.median)} ms)`, '');
}

// Every command the benches start runs in its own process unless a row says it is served: commands back to back
// would otherwise start a "gitbus serve" for their home (cli/serve/auto-start.ts) and be served from the next run on.
process.env['GITBUS_SERVE_AUTO'] = '0';
const lines: string[] = [`# gitbus benchmark — ${new Date().toISOString()}`, '', `machine: ${machine()}`, `cycles per measurement: ${CYCLES}`, ''];
const only = process.env['BENCH_ONLY'];
if (!only || only === 'cycle') {
  await claimCycle(lines, true);
  await claimCycle(lines, false);
}
if (!only || only === 'history') await historyCost(lines);
if (!only || only === 'watcher') await watcherBench(lines, Math.min(CYCLES, 20));
if (!only || only === 'budget') await budgetBench(lines);
if (only === 'throughput') await throughputBench(lines);
if (only === 'latency') await latencyBench(lines, Math.min(CYCLES, 20));
if (!only || only === 'ssh') await sshBench(lines, Math.min(CYCLES, 25));
if (!only || only === 'startup') await startupBench(lines, Number(process.env['BENCH_STARTUP_RUNS'] ?? CYCLES));
if (!only || only === 'bulk') await bulkBench(lines, Number(process.env['BENCH_BULK'] ?? 50), Number(process.env['BENCH_BULK_REPS'] ?? 3));
if (!only || only === 'pending') await pendingBench(lines, Number(process.env['BENCH_PENDING_RUNS'] ?? 7), Number(process.env['BENCH_PENDING'] ?? 5000));
if (!only || only === 'nodes') await nodesBench(lines, Number(process.env['BENCH_NODES'] ?? 100), Number(process.env['BENCH_NODES_RUNS'] ?? 10));
if (!only || only === 'archive') await archiveBench(lines, Number(process.env['BENCH_ARCHIVED'] ?? 100_000), Number(process.env['BENCH_ARCHIVE_RUNS'] ?? 5));
if (!only || only === 'project') await projectBench(lines, Math.min(CYCLES, Number(process.env['BENCH_PROJECT_CYCLES'] ?? 30)));
if (!only || only === 'project' || only === 'project-refs') await projectRefsBench(lines, Number(process.env['BENCH_PROJECT_REFS'] ?? 40_000), Math.min(CYCLES, Number(process.env['BENCH_PROJECT_REFS_RUNS'] ?? 15)));
if (!only || only === 'clone') await cloneBench(lines, Number(process.env['BENCH_CLONE_TASKS'] ?? 1000), Number(process.env['BENCH_CLONE_COMMITS'] ?? 200));
if (!only || only === 'clone' || only === 'archive-tip') await archiveTipBench(lines, Number(process.env['BENCH_TIP_ARCHIVED'] ?? 20_000), Number(process.env['BENCH_TIP_RUNS'] ?? 30), Number(process.env['BENCH_TIP_PER_RUN'] ?? 10));
// Twice BENCH_FLEET_MINUTES (20 min by default) and 100 watchers: only when asked for by name.
if (only === 'fleet') await fleetBench(lines);
process.stdout.write(`${lines.join('\n')}\n`);
