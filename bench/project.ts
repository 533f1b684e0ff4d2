import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NodeConfig } from '../bus/home.js';
import { openBus } from '../bus/context.js';
import { initBus } from '../bus/ops/init.js';
import { joinBus } from '../bus/ops/join.js';
import { dispatch } from '../bus/ops/dispatch.js';
import { handoffSchema, type Handoff } from '../schemas/handoff.js';
import { watch } from '../watcher/watch.js';
import { finishWorktree } from '../watcher/workspace/results.js';
import { runStart } from '../watcher/workspace/left-work.js';
import { pushResult } from '../watcher/workspace/push.js';
import { prepareWorktree } from '../watcher/workspace/worktree.js';
import { git, tmp } from './fixtures.js';
import { fmt, summarize, time, type Sample } from './stats.js';

/**
 * What a project task costs on top of a plain one (issue 9): the worktree from the node's cached clone, the commit
 * of what the run left, the push of the result branch — through gitbus's own functions (watcher/workspace/), next
 * to the same steps done with the git CLI by hand in the same run, on a copy of the same project remote. Then the
 * same through a whole watcher run (`watch --once` in-process), and the worktree step on a 20,000-file project.
 */
const exec = promisify(execFile);
const IDENTITY = { GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@x.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@x.invalid' };

/** The git CLI as a script runs it: one process per command, spawned the way gitbus spawns its own (async). */
async function cli(args: string[], cwd?: string): Promise<void> {
  await exec('git', args, { cwd, env: { ...process.env, ...IDENTITY }, maxBuffer: 1 << 26 });
}

/**
 * A bare project remote whose `main` holds `files` small files in nested folders (plus README.md and app.txt), in
 * one commit, written with git fast-import (seconds for 20,000 files, where `git add` per file would take minutes).
 */
export function projectRemote(dir: string, name: string, files: number): { remote: string; main: string } {
  const remote = join(dir, `${name}.git`);
  git(['init', '-q', '--bare', '-b', 'main', remote]);
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const ops: string[] = [`M 100644 inline README.md\n${data(`# ${name}\n`)}`, `M 100644 inline app.txt\n${data('line 1\nline 2\n')}`];
  for (let i = 0; i < files; i++) {
    const path = `src/m${i % 20}/p${Math.floor(i / 20) % 20}/f${i}.ts`;
    ops.push(`M 100644 inline ${path}\n${data(`export const f${i} = ${i};\n// file ${i} of ${files}\n`)}`);
  }
  const stream = `commit refs/heads/main\nmark :1\ncommitter bench <b@x.invalid> 1790000000 +0000\n${data('first')}${ops.join('')}done\n`;
  execFileSync('git', ['fast-import', '--quiet', '--done'], { cwd: remote, input: stream, maxBuffer: 1 << 26 });
  return { remote, main: git(['--git-dir', remote, 'rev-parse', 'main']).trim() };
}

/** A second remote with the same history (so each side pushes its branches to a remote of its own). */
function copyRemote(from: string, to: string): string {
  git(['clone', '-q', '--bare', from, to]);
  return to;
}

/** The node's cached clone, made by hand the way gitbus makes its own: bare, origin's branches under refs/remotes/origin/. */
async function handCache(gitDir: string, url: string): Promise<void> {
  await cli(['init', '-q', '--bare', gitDir]);
  await cli(['--git-dir', gitDir, 'config', 'remote.origin.url', url]);
  await cli(['--git-dir', gitDir, 'config', 'remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*']);
  await cli(['--git-dir', gitDir, 'fetch', '-q', 'origin']);
}

interface Side {
  home: string;
  config: NodeConfig;
  remote: string;
  base: string;
}

function handoffFor(s: Side, id: string): Handoff {
  return handoffSchema.parse({ id, title: `bench ${id}`, repo: s.remote, base: 'main', baseCommit: s.base });
}

/** What a run leaves: one file changed, one added. */
function work(path: string, id: string): void {
  writeFileSync(join(path, 'app.txt'), `line 1\nline 2\n${id}\n`);
  writeFileSync(join(path, `${id}.txt`), `made by ${id}\n`);
}

/** One project task's git work through gitbus: prepare, (the run), finish, push. Milliseconds per step. */
async function oursOnce(s: Side, id: string): Promise<{ prepare: number; finish: number; push: number }> {
  const h = handoffFor(s, id);
  let t = performance.now();
  const ws = await prepareWorktree({ home: s.home, config: s.config, id, attempt: 1, handoff: h, slot: 0 });
  // Taken before the run as the watcher takes it (run-project-task.ts): part of getting the worktree ready.
  const start = await runStart(ws.record.path);
  const prepare = performance.now() - t;
  work(ws.cwd, id);
  t = performance.now();
  const f = await finishWorktree({ ws, id, attempt: 1, node: s.config.node, title: h.title, status: 'succeeded', autoCommit: undefined, start });
  const finish = performance.now() - t;
  t = performance.now();
  const p = await pushResult(f.push);
  const push = performance.now() - t;
  if (p.kind !== 'pushed' || f.report.commits !== 1) throw new Error(`bench: gitbus's project task did not push one commit: ${JSON.stringify(p)} ${JSON.stringify(f.report)}`);
  return { prepare, finish, push };
}

/** The same by hand, in a cached clone made the same way. */
async function handOnce(gitDir: string, worktrees: string, base: string, id: string): Promise<{ prepare: number; finish: number; push: number; add: number }> {
  const path = join(worktrees, id);
  const branch = `gitbus/${id}`;
  let t = performance.now();
  await cli(['--git-dir', gitDir, 'fetch', '-q', 'origin']);
  const t1 = performance.now();
  await cli(['--git-dir', gitDir, 'worktree', 'add', '-q', '-B', branch, path, base]);
  const prepare = performance.now() - t;
  const add = performance.now() - t1;
  work(path, id);
  t = performance.now();
  await cli(['add', '-A'], path);
  await cli(['commit', '-q', '-m', `bench ${id}`], path);
  const finish = performance.now() - t;
  t = performance.now();
  await cli(['push', '-q', 'origin', branch], path);
  const push = performance.now() - t;
  return { prepare, finish, push, add };
}

/** The git commands `fn` starts (not the ones git starts itself), each with its time: a wrapper named git first on PATH. */
async function traced(dir: string, fn: () => Promise<unknown>): Promise<{ ms: number; args: string }[]> {
  const bin = join(dir, 'trace-bin');
  const log = join(dir, 'trace.log');
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'git'), `#!/bin/sh\ns=$(date +%s%N)\n"${real}" "$@"\nrc=$?\ne=$(date +%s%N)\nprintf '%s\\t%s\\n' "$(( (e - s) / 1000 ))" "$*" >> "${log}"\nexit $rc\n`);
  chmodSync(join(bin, 'git'), 0o755);
  rmSync(log, { force: true });
  const path = process.env['PATH'];
  process.env['PATH'] = `${bin}:${path ?? ''}`;
  try {
    await fn();
  } finally {
    process.env['PATH'] = path;
  }
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [us, ...rest] = l.split('\t');
      // The safety settings gitbus puts before every command say nothing about what it does.
      const args = rest.join('\t').replace(/-c (protocol\.\w+\.allow=never|core\.askPass=|credential\.interactive=false) /g, '');
      return { ms: Number(us) / 1000, args };
    });
}

/**
 * One task a side, which goes first alternating, each after `sync`: the disk is shared and slow, and one side's
 * files still being written out must not be charged to the other.
 */
async function bothSides<A, B>(i: number, ours: () => Promise<A>, hand: () => Promise<B>): Promise<[A, B]> {
  const settled = <T>(fn: () => Promise<T>) => {
    execFileSync('sync');
    return fn();
  };
  if (i % 2 === 0) {
    const a = await settled(ours);
    return [a, await settled(hand)];
  }
  const b = await settled(hand);
  return [await settled(ours), b];
}

function tableRow(name: string, ours: Sample, hand: Sample, target?: number): string {
  const ratio = ours.median / hand.median;
  const verdict = target === undefined ? '' : ratio <= target ? ` (target <= ${target}x: met)` : ` (target <= ${target}x: MISSED)`;
  return `| ${name} | ${fmt(ours.median)} / ${fmt(ours.p90)} ms | ${fmt(hand.median)} / ${fmt(hand.p90)} ms | ${ratio.toFixed(2)}x${verdict} |`;
}

const HEADER = ['| step | gitbus median / p90 | git CLI by hand median / p90 | ratio |', '| --- | --- | --- | --- |'];

function newSide(dir: string, name: string, remote: string, base: string): Side {
  return { home: join(dir, `${name}-home`), config: { node: 'bench', remote: join(dir, 'no-bus.git'), labels: [], runners: ['shell'], parallel: 1 }, remote, base };
}

/** The steps on a small project, alternating sides so both see the same machine over time. */
async function steps(lines: string[], dir: string, cycles: number): Promise<void> {
  const files = 200;
  const src = projectRemote(dir, 'small', files);
  const ours = newSide(dir, 'ours', copyRemote(src.remote, join(dir, 'ours-remote.git')), src.main);
  const handRemote = copyRemote(src.remote, join(dir, 'hand-remote.git'));
  const handGitDir = join(dir, 'hand-cache.git');
  await handCache(handGitDir, handRemote);
  const handTrees = join(dir, 'hand-worktrees');
  let n = 0;
  const next = () => `bench-${String(n++).padStart(4, '0')}`;
  // Warm up (the first fetch fills the caches; module loading, page cache).
  for (let i = 0; i < 3; i++) {
    await oursOnce(ours, next());
    await handOnce(handGitDir, handTrees, src.main, next());
  }
  const o = { prepare: [] as number[], finish: [] as number[], push: [] as number[], total: [] as number[] };
  const h = { prepare: [] as number[], finish: [] as number[], push: [] as number[], total: [] as number[] };
  for (let i = 0; i < cycles; i++) {
    const [a, b] = await bothSides(i, () => oursOnce(ours, next()), () => handOnce(handGitDir, handTrees, src.main, next()));
    o.prepare.push(a.prepare), o.finish.push(a.finish), o.push.push(a.push), o.total.push(a.prepare + a.finish + a.push);
    h.prepare.push(b.prepare), h.finish.push(b.finish), h.push.push(b.push), h.total.push(b.prepare + b.finish + b.push);
  }
  lines.push(`## Project tasks: the git work a project task adds (a ${files}-file project, local bare remote), ${cycles} tasks a side`, '');
  lines.push(...HEADER);
  lines.push(tableRow('prepare: fetch (up to date) + worktree at the base on a new branch', summarize(o.prepare), summarize(h.prepare)));
  lines.push(tableRow('commit what the run left (gitbus: + the facts for the response)', summarize(o.finish), summarize(h.finish)));
  lines.push(tableRow('push the result branch', summarize(o.push), summarize(h.push)));
  lines.push(tableRow('**total**', summarize(o.total), summarize(h.total), 1.3));
  lines.push('', 'by hand: git fetch; git worktree add -B; git add -A && git commit; git push', '');
  const ourCalls = await traced(dir, () => oursOnce(ours, next()));
  const handCalls = await traced(dir, () => handOnce(handGitDir, handTrees, src.main, next()));
  const sum = (c: { ms: number }[]) => c.reduce((x, y) => x + y.ms, 0);
  lines.push(`git processes per task (one traced task, times include the tracing wrapper): gitbus ${ourCalls.length} (${fmt(sum(ourCalls))} ms), by hand ${handCalls.length} (${fmt(sum(handCalls))} ms)`, '');
  for (const c of ourCalls) lines.push(`    ${fmt(c.ms).padStart(6)} ms  git ${c.args.replaceAll(dir, '<dir>')}`);
  lines.push('');
}

/** A whole task through the watcher (`watch --once` in-process: claim, run, commit, push, response): plain vs project. */
async function endToEnd(lines: string[], dir: string, samples: number): Promise<void> {
  const src = projectRemote(dir, 'e2e', 200);
  const busRemote = join(dir, 'bus.git');
  await initBus(join(dir, 'boss'), { remote: busRemote, node: 'boss' });
  await joinBus(join(dir, 'w'), busRemote, { node: 'w', runners: ['shell'] });
  const boss = await openBus(join(dir, 'boss'));
  const w = await openBus(join(dir, 'w'), 'watcher');
  const command = 'echo "done by $GITBUS_TASK_ID" > result.txt';
  const once = async (project: boolean): Promise<number> => {
    const handoff = project ? { title: 'project task', to: 'w', command, repo: src.remote, base: 'main', baseCommit: src.main } : { title: 'plain task', to: 'w', command };
    const d = await dispatch(boss, { handoff, body: '' });
    let ran: { id: string; status: string }[] = [];
    const ms = await time(async () => {
      ran = await watch(w, { once: true, stop: new AbortController().signal, watchFiles: false, onEvent: () => undefined });
    });
    if (ran.length !== 1 || ran[0]?.id !== d.id || ran[0].status !== 'succeeded') throw new Error(`bench: the watcher did not run ${d.id}: ${JSON.stringify(ran)}`);
    return ms;
  };
  for (let i = 0; i < 2; i++) await once(false), await once(true);
  const plain: number[] = [];
  const project: number[] = [];
  for (let i = 0; i < samples; i++) {
    plain.push(await once(false));
    project.push(await once(true));
  }
  const branches = git(['--git-dir', src.remote, 'for-each-ref', '--format=%(refname)', 'refs/heads/gitbus/']).split('\n').filter(Boolean).length;
  if (branches !== samples + 2) throw new Error(`bench: ${branches} result branches on the project remote, expected ${samples + 2}`);
  await boss.repo.close();
  await w.repo.close();
  const p = summarize(project);
  const q = summarize(plain);
  lines.push(`## Project tasks: a whole task through the watcher (watch --once in-process: claim, run, respond), ${samples} tasks a kind`, '');
  lines.push('| task | median / p90 |', '| --- | --- |');
  lines.push(`| plain shell task | ${fmt(q.median)} / ${fmt(q.p90)} ms |`);
  lines.push(`| project shell task (worktree, commit, branch pushed before the response) | ${fmt(p.median)} / ${fmt(p.p90)} ms |`);
  lines.push('', `a project task adds ${fmt(p.median - q.median)} ms per task (median), ${(p.median / q.median).toFixed(2)}x a plain one`, '');
}

/** The worktree step on a 20,000-file project: gitbus's prepare vs `git fetch` + `git worktree add` by hand. */
async function bigTree(lines: string[], dir: string, files: number, cycles: number): Promise<void> {
  const t0 = performance.now();
  const src = projectRemote(dir, 'big', files);
  const built = performance.now() - t0;
  const ours = newSide(dir, 'big-ours', src.remote, src.main);
  const handGitDir = join(dir, 'big-hand-cache.git');
  const t1 = performance.now();
  await handCache(handGitDir, src.remote);
  const firstFetch = performance.now() - t1;
  const handTrees = join(dir, 'big-hand-worktrees');
  // Worktrees stay until the end (the folder goes as a whole): removing 20,000 files between tasks makes the
  // next checkout wait for the disk's discards, which would measure the disk, not the step.
  let n = 0;
  const next = () => `big-${String(n++).padStart(4, '0')}`;
  await oursOnce(ours, next());
  await handOnce(handGitDir, handTrees, src.main, next());
  const o = { prepare: [] as number[], finish: [] as number[] };
  const h = { prepare: [] as number[], finish: [] as number[], add: [] as number[] };
  for (let i = 0; i < cycles; i++) {
    const [a, b] = await bothSides(i, () => oursOnce(ours, next()), () => handOnce(handGitDir, handTrees, src.main, next()));
    o.prepare.push(a.prepare), o.finish.push(a.finish);
    h.prepare.push(b.prepare), h.finish.push(b.finish), h.add.push(b.add);
  }
  lines.push(`## Project tasks: a ${files}-file project (generated in ${(built / 1000).toFixed(1)} s; first fetch into a cache ${(firstFetch / 1000).toFixed(1)} s), ${cycles} tasks a side`, '');
  lines.push(...HEADER);
  lines.push(tableRow('worktree: fetch (up to date) + worktree add', summarize(o.prepare), summarize(h.prepare), 1.3));
  lines.push(tableRow('commit one changed and one new file (+ facts)', summarize(o.finish), summarize(h.finish), 1.3));
  lines.push('', `of which \`git worktree add\` alone by hand: median ${fmt(summarize(h.add).median)} ms`, '');
}

export async function projectBench(lines: string[], cycles: number): Promise<void> {
  const dirs = [tmp('gitbus-bench-project-'), tmp('gitbus-bench-project-e2e-'), tmp('gitbus-bench-project-big-')] as const;
  try {
    const t = performance.now();
    await steps(lines, dirs[0], cycles);
    await endToEnd(lines, dirs[1], Math.min(cycles, Number(process.env['BENCH_PROJECT_E2E'] ?? 12)));
    const files = Number(process.env['BENCH_PROJECT_FILES'] ?? 20_000);
    const big = Number(process.env['BENCH_PROJECT_BIG'] ?? 3);
    if (files > 0 && big > 0) await bigTree(lines, dirs[2], files, big);
    lines.push(`(the project benchmark took ${((performance.now() - t) / 1000).toFixed(0)} s)`, '');
  } finally {
    rmSync(dirs[0], { recursive: true, force: true });
    rmSync(dirs[1], { recursive: true, force: true });
    // Removing the big worktrees (160,000 files) takes minutes on a slow disk: left to a process of its own.
    spawn('rm', ['-rf', dirs[2]], { detached: true, stdio: 'ignore' }).unref();
  }
}
