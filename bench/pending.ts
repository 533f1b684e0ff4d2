import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector';
import { renderBusFile } from '../schemas/bus-file.js';
import { openBus } from '../bus/context.js';
import { initBus } from '../bus/ops/init.js';
import { joinBus } from '../bus/ops/join.js';
import { watch } from '../watcher/watch.js';
import { git, tmp } from './fixtures.js';
import { fmt, summarize, time, type Sample } from './stats.js';

const BIN = fileURLToPath(new URL('../../bin/gitbus.js', import.meta.url));
const TARGET = 1.5;
const ELIGIBLE = 'task-00003';
/** BENCH_PENDING_PARTS (comma-separated: join, processes, wake) selects parts of this bench; all by default. */
const PARTS = new Set((process.env['BENCH_PENDING_PARTS'] ?? 'join,processes,wake').split(',').map((p) => p.trim()));

/**
 * Issue 14: `status`, `status --json`, `show`, `claim --next` and a watcher wake with many pending tasks (default
 * 5,000; BENCH_PENDING; all but one for nodes with a label this node lacks) against a small bus (BASELINE tasks, enough to claim one per sample), side by side, each
 * as a whole process: cold (the node's parse cache removed, as on the first command after `join`) and warm (the
 * cache written by an earlier command). Commands that write (claim, watch --once) put the remote's and the node's
 * main back afterwards, so every sample decides from the same state. The rows "main moved by another node" push a
 * new handoff first (git, untimed), as a busy fleet's nodes find main at nearly every command: those fetch and read a
 * new tree. Plus a long-lived watcher's wake in-process, and `join` against `git clone --depth 1`.
 */
export async function pendingBench(lines: string[], samples: number, pending: number, parts = PARTS): Promise<void> {
  const BASELINE = samples + 5;
  const dir = tmp('gitbus-bench-pending-');
  const big = await makeBus(dir, 'big', pending);
  const small = await makeBus(dir, 'small', BASELINE);

  // join, and git's own shallow clone of the same remote, taking turns.
  const joins: number[] = [];
  const clones: number[] = [];
  // And the first command on a node just joined (join warms the parse cache), against the same on the small bus.
  const firstBig: number[] = [];
  const firstSmall: number[] = [];
  for (let i = 0; i < (parts.has('join') ? 3 : 0); i++) {
    const at = join(dir, `join-${i}`);
    joins.push(await time(async () => run(['join', big.remote, '--node', `j${i}`, '--home', at])));
    clones.push(await time(async () => git(['clone', '-q', '--bare', '--depth', '1', `file://${big.remote}`, join(dir, `clone-${i}.git`)])));
    const atSmall = join(dir, `join-small-${i}`);
    run(['join', small.remote, '--node', `j${i}`, '--home', atSmall]);
    firstBig.push(run(['status', '--home', at]));
    firstSmall.push(run(['status', '--home', atSmall]));
  }

  /** moved: another node pushes a new handoff first, as on a busy fleet, so the command fetches and reads a new tree. */
  type Case = { label: string; args: (home: string) => string[]; writes: boolean; moved?: boolean };
  const cases: Case[] = [
    { label: 'status', args: (h) => ['status', '--home', h], writes: false },
    { label: 'status --json', args: (h) => ['status', '--json', '--home', h], writes: false },
    { label: 'show <id>', args: (h) => ['show', ELIGIBLE, '--home', h], writes: false },
    { label: 'claim --next', args: (h) => ['claim', '--next', '--json', '--home', h], writes: true },
    { label: 'watch --once (claim, run, respond)', args: (h) => ['watch', '--once', '--json', '--home', h], writes: true },
    { label: 'status, main moved by another node', args: (h) => ['status', '--home', h], writes: true, moved: true },
    { label: 'claim --next, main moved by another node', args: (h) => ['claim', '--next', '--json', '--home', h], writes: true, moved: true },
  ];
  const buses = [big, small];
  const results = new Map<string, number[]>();
  const sample = (bus: Bus, c: Case, cold: boolean): void => {
    if (cold) rmSync(join(bus.home, 'clone.git', 'gitbus-cache'), { recursive: true, force: true });
    if (c.moved) bus.moveMain();
    const ms = run(c.args(bus.home));
    if (c.writes) bus.reset();
    const key = `${bus.name}|${c.label}|${cold ? 'cold' : 'warm'}`;
    results.set(key, [...(results.get(key) ?? []), ms]);
  };
  // Warm-up: page cache, git's first start, and each bus's cache written once.
  if (parts.has('processes')) for (const bus of buses) for (const c of cases) sample(bus, c, false);
  results.clear();
  for (let round = 0; round < (parts.has('processes') ? samples : 0); round++) {
    for (const c of cases) {
      for (const cold of [true, false]) {
        // Both buses in the same moment of the run, the first alternating, so that load falls on both alike.
        const order = round % 2 === 0 ? buses : [...buses].reverse();
        for (const bus of order) sample(bus, c, cold);
      }
    }
  }

  // A long-lived watcher: parse results stay in its memory from one wake to the next.
  const inProcess = async (bus: Bus): Promise<Sample> => {
    const ctx = await openBus(bus.home, 'watcher');
    const ms: number[] = [];
    // BENCH_PENDING_PROFILE=<file>: a CPU profile of the big bus's measured wakes only (not the setup).
    const profile = bus === big ? process.env['BENCH_PENDING_PROFILE'] : undefined;
    for (let i = 0; i < samples + 2; i++) {
      if (i === 2 && profile) await startProfile();
      const t = await time(() => watch(ctx, { once: true, stop: new AbortController().signal, watchFiles: false, onEvent: () => undefined }));
      bus.reset();
      if (i >= 2) ms.push(t);
    }
    if (profile) await stopProfile(profile);
    await ctx.repo.close();
    return summarize(ms);
  };
  const wakeBig = parts.has('wake') ? await inProcess(big) : null;
  const wakeSmall = parts.has('wake') ? await inProcess(small) : null;

  lines.push(`## ${pending} pending tasks against a small bus (${BASELINE} pending), whole processes (${samples} runs each, taking turns)`, '');
  lines.push('cold: the parse cache removed first (as the first command after join); warm: written by an earlier command.', '');
  lines.push(`${'command'.padEnd(44)} ${`${pending} pending`.padStart(18)} ${'small bus'.padStart(18)}   ratio`);
  for (const c of parts.has('processes') ? cases : []) {
    for (const mode of ['cold', 'warm']) {
      const a = summarize(results.get(`big|${c.label}|${mode}`) ?? []);
      const b = summarize(results.get(`small|${c.label}|${mode}`) ?? []);
      lines.push(ratioRow(`${c.label}, ${mode}`, a, b, mode === 'warm' ? TARGET : undefined));
    }
  }
  if (wakeBig && wakeSmall) lines.push(ratioRow('watcher wake in-process (long-lived watcher)', wakeBig, wakeSmall, TARGET));
  if (joins.length === 0) return;
  const j = summarize(joins);
  const g = summarize(clones);
  lines.push(ratioRow('status, first command after join', summarize(firstBig), summarize(firstSmall), TARGET));
  lines.push('', `join of the ${pending}-task bus: median ${fmt(j.median)} ms against \`git clone --bare --depth 1\` ${fmt(g.median)} ms (${(j.median / g.median).toFixed(2)}x; 3 runs each)`, '');
}

const inspector = new Session();
const post = (method: string, params?: object): Promise<unknown> =>
  new Promise((resolve, reject) => inspector.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
async function startProfile(): Promise<void> {
  inspector.connect();
  await post('Profiler.enable');
  await post('Profiler.start');
}
async function stopProfile(file: string): Promise<void> {
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  writeFileSync(file, JSON.stringify(profile));
  inspector.disconnect();
}

function ratioRow(label: string, a: Sample, b: Sample, target?: number): string {
  const ratio = a.median / b.median;
  const verdict = target === undefined ? '' : ratio <= target ? `  (target <= ${target}x: met)` : `  (target <= ${target}x: MISSED)`;
  return `${label.padEnd(44)} ${fmt(a.median).padStart(9)} ms p90 ${fmt(a.p90).padStart(7)} ${fmt(b.median).padStart(9)} ms p90 ${fmt(b.p90).padStart(7)}  ${ratio.toFixed(2)}x${verdict}`;
}

interface Bus {
  name: string;
  remote: string;
  home: string;
  /** Puts the remote's and the node's main back where the bench started. */
  reset(): void;
  /** Another node's push: a new handoff (for GPU nodes) on top of where the bench started. */
  moveMain(): void;
}

/** A bus whose main holds `tasks` pending no-op handoffs, pushed in one commit, and a node joined to it. */
async function makeBus(dir: string, name: string, tasks: number): Promise<Bus> {
  const remote = join(dir, `${name}.git`);
  await initBus(join(dir, `${name}-boss`), { remote, node: 'boss' });
  const work = join(dir, `${name}-work`);
  git(['clone', '-q', remote, work]);
  mkdirSync(join(work, 'handoffs'), { recursive: true });
  const created = Date.parse('2026-11-01T00:00:00Z');
  for (let i = 0; i < tasks; i++) {
    const id = `task-${String(i).padStart(5, '0')}`;
    // One task the node may run, the rest for GPU nodes: every decision still reads them all, and a watcher's
    // `--once` ends after that one task instead of running the whole pool.
    const handoff = { id, title: `pending ${i}`, from: 'boss', created: new Date(created + i * 1000).toISOString(), command: 'true', priority: i % 5, ...(id === ELIGIBLE ? {} : { labels: ['gpu'] }) };
    writeFileSync(join(work, 'handoffs', `${id}.md`), renderBusFile('handoff', handoff, '## Task\n\nNothing to do: a benchmark task.\n'));
  }
  git(['add', '-A'], work);
  git(['commit', '-q', '-m', `${tasks} pending tasks`], work);
  git(['push', '-q', 'origin', 'HEAD:main'], work);
  const home = join(dir, `${name}-node`);
  await joinBus(home, remote, { node: 'w', runners: ['shell'] });
  const head = git(['--git-dir', remote, 'rev-parse', 'main']).trim();
  let moves = 0;
  return {
    name,
    remote,
    home,
    reset() {
      git(['--git-dir', remote, 'update-ref', 'refs/heads/main', head]);
      git(['--git-dir', join(home, 'clone.git'), 'update-ref', 'refs/heads/main', head]);
    },
    moveMain() {
      // head is the join's commit (the node's card), which this checkout has not seen until it fetches.
      if (moves === 0) git(['fetch', '-q', 'origin'], work);
      git(['reset', '-q', '--hard', head], work);
      const id = `moved-${String(++moves).padStart(5, '0')}`;
      const handoff = { id, title: `another node's task ${moves}`, from: 'boss', created: new Date(created + (tasks + moves) * 1000).toISOString(), command: 'true', labels: ['gpu'] };
      writeFileSync(join(work, 'handoffs', `${id}.md`), renderBusFile('handoff', handoff, '## Task\n\nNothing to do: a benchmark task.\n'));
      git(['add', '-A'], work);
      git(['commit', '-q', '-m', `dispatch ${id}`], work);
      git(['push', '-q', '-f', 'origin', 'HEAD:main'], work);
    },
  };
}

function run(args: string[]): number {
  const env = { ...process.env };
  delete env['GITBUS_HOME'];
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`gitbus ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}
