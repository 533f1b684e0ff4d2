import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBus } from '../bus/ops/init.js';
import { LOOK_CONFIG } from '../bus/project/checkout-look.js';
import { joinBus } from '../bus/ops/join.js';
import { busOfFive, busOfTasks, busWithArchive, mainKept, projectCheckout, projectCheckoutBelowTip } from './startup-fixtures.js';
import { tmp } from './fixtures.js';
import { serveOverHttp } from './git-host-process.js';
import { childCpuMs, fmt, summarize, type Sample } from './stats.js';

/** The command as a person or a hook runs it: the package's bin script, which imports the bundle. */
const BIN = fileURLToPath(new URL('../../bin/gitbus.js', import.meta.url));
const TARGET = 2;

interface Case {
  label: string;
  args: string[];
  /** The program run (else Node): the rows of the same git work done with the git CLI. */
  program?: string;
  /** For such a row: the case whose git work it does (sameGitWorkLines). */
  gitWorkOf?: Case;
  /** Added to the environment of this case's runs. */
  env?: NodeJS.ProcessEnv;
  /** Written to the process's standard input (else it reads /dev/null). */
  input?: string;
  /** The watcher or server that serves this case: the next case waits until its next standby is ready. */
  servedBy?: ServingWatcher;
  /** Standard output is a pipe this process reads, as an agent, Claude Code or `$(...)` has it (else /dev/null). */
  piped?: boolean;
  /** Done before each run, untimed: what the command comes after. */
  before?: () => Promise<void>;
  /** Done after each run, untimed: what the next run starts from. */
  after?: () => void;
  /** The folder it runs in (else the bench's temp folder, in no git checkout). */
  cwd?: string;
}

/**
 * Command start-up (issue 14): `gitbus --version`, `gitbus status` and `gitbus dispatch` as whole processes,
 * against `node -e 0` — Node's own start-up, the floor every command pays. The cases take turns, one run each
 * per round and the first of each round rotating, so that the shared machine's load falls on all of them alike.
 * BENCH_STARTUP_COMPARE=path/to/other/bin/gitbus.js (or several, comma-separated) runs the same commands with another build in the same
 * rounds (how the "before" column of docs/PERFORMANCE.md was measured). Beside wall time it prints each case's
 * CPU time per run (Linux), which a machine shared with other work disturbs much less.
 *
 * This build's commands run as bin/gitbus.js runs them, the CommonJS bundle with its V8 code cache (cli/code-cache.ts),
 * in a cache folder of the bench's own that the warm-up runs fill; `status` and `dispatch` also run with a cache
 * folder that cannot be made (which the loader sends to the ES module build) and as ES modules
 * (GITBUS_CODE_CACHE=0, the build before the cache), and `status --help` from the bundle with status's cache.
 * `status` also runs on a node that reads the same bus over smart HTTP, as every command against a git host does.
 * A dispatch row's bus is set back after each run (`mainKept`), so that every run dispatches to a bus of five tasks
 * (or of 200, on its own row), not to one a task larger than the run before.
 */
export async function startupBench(lines: string[], runs: number): Promise<void> {
  const dir = tmp('gitbus-bench-startup-');
  // The served rows' bus: five tasks, and the nodes whose watchers or server serve (below).
  const statusHome = join(dir, 'status-home');
  await busOfFive(statusHome, join(dir, 'status.git'));
  // The same bus as status's is read over smart HTTP too (a git host as GitHub is one).
  const host = await serveOverHttp(dir);
  // A bus with an archive, written by another node (so that the dispatching nodes' clones lack its objects), where
  // a dispatch asked the archive about its own new id until session 17 (bus/ops/deliver.ts `fresh`). Every build's
  // local and HTTP rows dispatch to it, so each run finds main moved by the others' runs: these rows also measure a
  // dispatch that fetches first (docs/PERFORMANCE.md "A fetch that asks only about what changed").
  await busWithArchive(dir, 'archived.git');
  /**
   * The homes one build's rows run in, each build's (and the ES module build's) their own: a node keeps one parse
   * cache file per tree, of the build that wrote it last (bus/store/parse-cache.ts), so two builds taking turns on
   * one home each parsed the bus again at every run (until session 36, the own-process `status` row did so after
   * every ES module `status` row). status reads a bus of five tasks and one node (and the node that reads it over
   * HTTP), as the served rows' bus was before their nodes joined it; dispatch writes to a bus of its own.
   */
  const remotes = new Map<string, string>();
  // `large`: the buses of 200 and 1,000 tasks too (the ES module rows have no row on them).
  const homesOf = async (tag: string, large = true): Promise<BuildHomes> => {
    const h: BuildHomes = { status: join(dir, `status-home${tag}`), dispatch: join(dir, `dispatch-home${tag}`), dispatch200: join(dir, `dispatch200-home${tag}`), dispatch1000: join(dir, `dispatch1000-home${tag}`), http: join(dir, `http-home${tag}`), archive: join(dir, `archive-home${tag}`), archiveHttp: join(dir, `archive-http-home${tag}`), afterDispatch: join(dir, `after-dispatch-home${tag}`) };
    await busOfFive(h.status, join(dir, `status${tag}.git`));
    await busOfFive(h.afterDispatch, join(dir, `after-dispatch${tag}.git`));
    for (const [home, remote, tasks] of [[h.dispatch, join(dir, `dispatch${tag}.git`), 5], ...(large ? ([[h.dispatch200, join(dir, `dispatch200${tag}.git`), 200], [h.dispatch1000, join(dir, `dispatch1000${tag}.git`), 1000]] as const) : [])] as const) {
      await busOfTasks(home, remote, tasks);
      remotes.set(home, remote);
    }
    await joinBus(h.http, `${host.url}/status${tag}.git`, { node: 'bench-http' });
    await joinBus(h.archive, join(dir, 'archived.git'), { node: `bench-archive${tag}` });
    await joinBus(h.archiveHttp, `${host.url}/archived.git`, { node: `bench-archive-http${tag}` });
    return h;
  };
  const mine = await homesOf('-0');
  const esm = await homesOf('-esm', false);
  const dispatchHome = mine.dispatch;

  // The same two buses, each with a node whose watcher runs and serves short commands (cli/serve/): its status
  // and dispatch run in the watcher's standby process. It claims nothing (the tasks are for node bench).
  const servedStatusHome = join(dir, 'served-status-home');
  await joinBus(servedStatusHome, join(dir, 'status.git'), { node: 'bench-served', runners: ['shell'] });
  // A bus of its own for the served dispatches, so that the other rows' dispatches do not wake its watcher.
  await initBus(join(dir, 'served-dispatch-bench-home'), { remote: join(dir, 'served-dispatch.git'), node: 'bench' });
  const servedDispatchHome = join(dir, 'served-dispatch-home');
  await joinBus(servedDispatchHome, join(dir, 'served-dispatch.git'), { node: 'bench-served-dispatch', runners: ['shell'] });
  // Claude Code's hooks: a node of the status bus whose watcher serves them, and the session a prompt comes from
  // (one that dispatched nothing: the hook's own work is one missing-file check, so the row is its start-up).
  const servedHookHome = join(dir, 'served-hook-home');
  await joinBus(servedHookHome, join(dir, 'status.git'), { node: 'bench-served-hook', runners: ['shell'] });
  const hookInput = `${JSON.stringify({ session_id: '9b1d6c1e-5a36-4c36-8d55-2f0b8f1c7a41', transcript_path: join(dir, 'transcript.jsonl'), cwd: dir, hook_event_name: 'UserPromptSubmit', prompt: 'start-up probe' })}\n`;
  const watchers = await Promise.all([servedStatusHome, servedDispatchHome, servedHookHome].map((h) => serving(h, join(dir, 'cache'))));
  // A node of the status bus with no watcher (no runners: a machine that only dispatches), whose commands
  // `gitbus serve` serves (cli/serve/standalone.ts): started here as the second command in ten minutes would.
  const serverHome = join(dir, 'server-home');
  await joinBus(serverHome, join(dir, 'status.git'), { node: 'bench-server' });
  watchers.push(await serving(serverHome, join(dir, 'cache'), ['serve', '--json']));

  const builds: { name: string; bin: string; homes: BuildHomes }[] = [{ name: '', bin: BIN, homes: mine }];
  // Several builds: separated by commas (a path with a comma in it cannot be compared).
  const others = (process.env['BENCH_STARTUP_COMPARE'] ?? '').split(',').filter(Boolean);
  for (const [k, other] of others.entries()) builds.push({ name: `${other}: `, bin: resolve(other), homes: await homesOf(`-${k + 1}`) });
  const cases: Case[] = [{ label: 'node -e 0', args: ['-e', '0'] }];
  const status = (bin: string, home: string): string[] => [bin, 'status', '--home', home];
  const dispatchArgs = (bin: string, home: string): string[] => [bin, 'dispatch', 'start-up probe', '--home', home];
  // Each dispatch row's bus is set back after each run (`mainKept`), so that a row measures one bus throughout.
  const kept = new Map<string, () => void>();
  const keep = (home: string): (() => void) => kept.get(home) ?? (kept.set(home, mainKept(home, remotes.get(home) as string)).get(home) as () => void);
  for (const b of builds) {
    cases.push({ label: `${b.name}gitbus --version`, args: [b.bin, '--version'] });
    cases.push({ label: `${b.name}gitbus status (local bus, 5 tasks)`, args: status(b.bin, b.homes.status) });
    cases.push({ label: `${b.name}gitbus dispatch (local bus, 5 tasks)`, args: dispatchArgs(b.bin, b.homes.dispatch), after: keep(b.homes.dispatch) });
    // A bus of 200 live tasks: its handoffs tree (~11 KB) is past what a dispatch hashes in JavaScript (bus/git/sha1.ts).
    cases.push({ label: `${b.name}gitbus dispatch (local bus, 200 tasks)`, args: dispatchArgs(b.bin, b.homes.dispatch200), after: keep(b.homes.dispatch200) });
    // A bus of 1,000: its handoffs tree (~53 KB) past the 16 KiB an object is stored up to, which a tree is not (64 KiB).
    cases.push({ label: `${b.name}gitbus dispatch (local bus, 1,000 tasks)`, args: dispatchArgs(b.bin, b.homes.dispatch1000), after: keep(b.homes.dispatch1000) });
    // What an agent pays: its output read through a pipe (Node's process.stdout for a pipe is a net.Socket; gitbus
    // writes to the descriptor, cli/std-write.ts). The other rows write to /dev/null.
    cases.push({ label: `${b.name}gitbus status (local bus, 5 tasks), output to a pipe`, args: status(b.bin, b.homes.status), piped: true });
    cases.push({ label: `${b.name}gitbus dispatch (local bus, 5 tasks), output to a pipe`, args: dispatchArgs(b.bin, b.homes.dispatch), piped: true, after: keep(b.homes.dispatch) });
    // What comes after a dispatch, and after a claim or a response, every time: a status with a file in no parse
    // cache, which gitbus wrote. The dispatch is the same build's CLI, untimed: a process of another build (this
    // one) would leave the home's caches in its own name (bus/store/parse-cache.ts BUILD_ID).
    const afterDispatch = [b.bin, 'dispatch', 'dispatched before a status', '--home', b.homes.afterDispatch];
    cases.push({ label: `${b.name}gitbus status after a dispatch (local bus, 5 tasks and more)`, args: status(b.bin, b.homes.afterDispatch), before: async () => void spawnSync(process.execPath, afterDispatch, { cwd: dir, env, stdio: 'ignore' }) });
    cases.push({ label: `${b.name}gitbus status (HTTP remote, 5 tasks)`, args: [b.bin, 'status', '--home', b.homes.http] });
    cases.push({ label: `${b.name}gitbus dispatch (local bus with an archive, main moved by other nodes)`, args: [b.bin, 'dispatch', 'start-up probe', '--home', b.homes.archive] });
    cases.push({ label: `${b.name}gitbus dispatch (HTTP remote with an archive, main moved by other nodes)`, args: [b.bin, 'dispatch', 'start-up probe', '--home', b.homes.archiveHttp] });
  }
  const noCache = { XDG_CACHE_HOME: join(dir, 'no-cache-folder', 'a-file') };
  writeFileSync(join(dir, 'no-cache-folder'), '');
  cases.push({ label: 'gitbus status, cache folder unusable (ES modules since issue 14 round 2)', args: status(BIN, esm.status), env: noCache });
  cases.push({ label: 'gitbus dispatch, cache folder unusable', args: dispatchArgs(BIN, esm.dispatch), env: noCache, after: keep(esm.dispatch) });
  cases.push({ label: 'gitbus status --help', args: [BIN, 'status', '--help'] });
  // The served rows apart from each other in the order (which rotates, keeping it). After each, the watcher's next
  // standby loads and warms up (~0.4 s of CPU); the next case waits for it (`settled`), since a command that runs
  // in its own process is one on a machine where no watcher or server runs, so no standby warms up beside it.
  // GITBUS_SERVE=1: these rows measure the served path. Without it a command that can start from its code cache runs in
  // its own process (cli/serve/client.ts ownProcessSooner), as the rows without a watcher do.
  const servedReport = (name: string) => ({ GITBUS_SERVE_REPORT: join(dir, `served-${name}.jsonl`), GITBUS_SERVE: '1' });
  const [statusWatcher, dispatchWatcher, hookWatcher, server] = watchers as [ServingWatcher, ServingWatcher, ServingWatcher, ServingWatcher];
  cases.splice(2, 0, { label: 'gitbus status, served by the watcher (local bus, 5 tasks)', args: [BIN, 'status', '--home', servedStatusHome], env: servedReport('status'), servedBy: statusWatcher });
  // The same command in the same home, in its own process (what that home runs by default): the served row's fair
  // comparison, since the plain status row's home has no watcher keeping its clone up to date.
  cases.splice(Math.ceil(cases.length / 4) + 1, 0, { label: 'gitbus status, in the served home, own process (GITBUS_SERVE=0)', args: [BIN, 'status', '--home', servedStatusHome], env: { GITBUS_SERVE: '0' } });
  cases.splice(Math.ceil(cases.length / 3) + 1, 0, { label: 'gitbus status, served by gitbus serve, no watcher (local bus, 5 tasks)', args: [BIN, 'status', '--home', serverHome], env: servedReport('server'), servedBy: server });
  cases.splice(Math.ceil(cases.length / 2) + 1, 0, { label: 'gitbus dispatch --to, served by the watcher (local bus)', args: [BIN, 'dispatch', 'start-up probe', '--to', 'bench', '--home', servedDispatchHome], env: servedReport('dispatch'), servedBy: dispatchWatcher });
  cases.push({ label: 'gitbus dispatch --to (local bus, 5 tasks)', args: [BIN, 'dispatch', 'start-up probe', '--to', 'bench', '--home', dispatchHome], after: keep(dispatchHome) });
  // As an agent dispatches code work: from a checkout of a project with its remote, so the task is project work (the
  // git state in the body, the checkout's remote, branch and base read). Its HEAD pushed, at origin/main: the remote is
  // not asked (bus/project/resolve.ts pushedAsSeen); in a second checkout, below its tracking tip: it is listed.
  const checkout = projectCheckout(dir);
  const fromCheckout: Case = { label: 'gitbus dispatch from a project checkout (local bus, 5 tasks)', args: [BIN, 'dispatch', 'start-up probe', '--home', dispatchHome], cwd: checkout, after: keep(dispatchHome) };
  cases.push(fromCheckout);
  cases.push({ label: 'gitbus dispatch from a checkout, HEAD below its tracking tip (listed)', args: [BIN, 'dispatch', 'start-up probe', '--home', dispatchHome], cwd: projectCheckoutBelowTip(dir), after: keep(dispatchHome) });
  // The baselines of the rows that do git work Node's start does not: the same work done with the git CLI.
  cases.push({ label: 'git CLI: the git work of a dispatch from a checkout (sh)', program: 'sh', args: ['-c', CHECKOUT_GIT_WORK], cwd: checkout, gitWorkOf: fromCheckout });
  const overHttp = cases.find((c) => c.args[1] === 'status' && c.args[3] === mine.http);
  cases.push({ label: 'git CLI: git ls-remote of the HTTP remote (protocol v0)', program: 'git', args: ['-c', 'protocol.version=0', 'ls-remote', `${host.url}/status-0.git`], ...(overHttp ? { gitWorkOf: overHttp } : {}) });

  cases.push({ label: 'gitbus hook claude user-prompt-submit (Claude Code\'s hook)', args: [BIN, 'hook', 'claude', 'user-prompt-submit', '--home', statusHome], input: hookInput });
  // Where the command cannot start from its code cache (a sandbox's cache folder), which is where it is served unasked.
  cases.splice(Math.ceil((cases.length * 2) / 3) + 1, 0, { label: 'gitbus status, cache folder unusable, served by the watcher', args: [BIN, 'status', '--home', servedStatusHome], env: { ...noCache, GITBUS_SERVE_REPORT: join(dir, 'served-nocache.jsonl') }, servedBy: statusWatcher });
  cases.splice(Math.ceil((cases.length * 5) / 6), 0, { label: 'gitbus hook claude user-prompt-submit, served', args: [BIN, 'hook', 'claude', 'user-prompt-submit', '--home', servedHookHome], env: servedReport('hook'), input: hookInput, servedBy: hookWatcher });
  cases.push({ label: 'gitbus status, ES modules (GITBUS_CODE_CACHE=0)', args: status(BIN, esm.status), env: { GITBUS_CODE_CACHE: '0' } });
  cases.push({ label: 'gitbus dispatch, ES modules (GITBUS_CODE_CACHE=0)', args: dispatchArgs(BIN, esm.dispatch), env: { GITBUS_CODE_CACHE: '0' }, after: keep(esm.dispatch) });
  // The served dispatch's and hook's pairs, as the status's above: in the served home, in its own process (what that
  // home runs by default). Last, after rows that are not served (the case after a served one starts after a pause).
  cases.push({ label: 'gitbus dispatch --to, in the served home, own process (GITBUS_SERVE=0)', args: [BIN, 'dispatch', 'start-up probe', '--to', 'bench', '--home', servedDispatchHome], env: { GITBUS_SERVE: '0' } });
  cases.push({ label: 'gitbus hook claude user-prompt-submit, in the served home, own process (GITBUS_SERVE=0)', args: [BIN, 'hook', 'claude', 'user-prompt-submit', '--home', servedHookHome], env: { GITBUS_SERVE: '0' }, input: hookInput });

  // The temp folder is in no git checkout, so dispatch makes a plain task, as it does outside a project.
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
  delete env['GITBUS_HOME'];
  delete env['GITBUS_CODE_CACHE'];
  const cpu = cases.map(() => 0);
  const once = (c: Case, i?: number): number => {
    const before = childCpuMs();
    const t = process.hrtime.bigint();
    const r = spawnSync(c.program ?? process.execPath, c.args, { cwd: c.cwd ?? dir, env: { ...env, ...c.env }, stdio: [c.input === undefined ? 'ignore' : 'pipe', c.piped === true ? 'pipe' : 'ignore', 'pipe'], ...(c.input === undefined ? {} : { input: c.input }) });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    const after = childCpuMs();
    if (i !== undefined && before !== null && after !== null) cpu[i] = (cpu[i] ?? 0) + after - before;
    if (r.status !== 0) throw new Error(`${c.label} exited ${r.status}: ${r.stderr.toString()}`);
    return ms;
  };
  const timed = async (c: Case, i?: number): Promise<number> => {
    await c.before?.();
    const seen = c.servedBy?.events() ?? 0;
    const ms = once(c, i);
    c.after?.();
    if (c.servedBy !== undefined) notReady += (await settled(c.servedBy, seen)) ? 0 : 1;
    return ms;
  };
  let notReady = 0;
  for (const c of cases) for (let i = 0; i < 2; i++) await timed(c); // page cache, git's own first start
  for (const name of ['status', 'dispatch', 'hook', 'server', 'nocache']) writeFileSync(join(dir, `served-${name}.jsonl`), '');
  const times = cases.map((): number[] => []);
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < cases.length; k++) {
      const i = (round + k) % cases.length;
      (times[i] as number[]).push(await timed(cases[i] as Case, i));
    }
  }

  const bursts = await burstRows(servedStatusHome, watchers[0] as ServingWatcher, env, dir);

  host.stop();
  for (const w of watchers) w.child.kill();
  // A served run that found no standby ready ran in its own process: say how many were served.
  const servedCount = (name: string) => readFileSync(join(dir, `served-${name}.jsonl`), 'utf8').split('\n').filter((l) => l.includes('"served":true')).length;

  const samples = times.map((t) => summarize(t));
  const base = samples[0] as Sample;
  lines.push(`## Start-up: whole processes against \`node -e 0\` (${runs} runs each, taking turns)`, '');
  const hasCpu = childCpuMs() !== null;
  lines.push(`${'command'.padEnd(64)} ${'median'.padStart(8)} ${'p90'.padStart(8)}   ratio${hasCpu ? '   CPU/run  ratio' : ''}`);
  cases.forEach((c, i) => {
    const s = samples[i] as Sample;
    const ratio = s.median / base.median;
    const verdict = i === 0 ? '' : ratio <= TARGET ? `  (target <= ${TARGET}x: met)` : `  (target <= ${TARGET}x: MISSED)`;
    const cpuMs = (cpu[i] ?? 0) / runs;
    const cpuCol = hasCpu ? `  ${fmt(cpuMs).padStart(6)} ms  ${(cpuMs / ((cpu[0] ?? 0) / runs)).toFixed(2)}x` : '';
    lines.push(`${c.label.padEnd(64)} ${fmt(s.median).padStart(5)} ms ${fmt(s.p90).padStart(5)} ms  ${ratio.toFixed(2)}x${cpuCol}${verdict}`);
  });
  lines.push('', `Served by the watcher: status ${servedCount('status')} of ${runs} runs, dispatch ${servedCount('dispatch')} of ${runs}, hook ${servedCount('hook')} of ${runs}, status with the cache folder unusable (served unasked) ${servedCount('nocache')} of ${runs}; by gitbus serve: status ${servedCount('server')} of ${runs} (the others found no standby ready and ran in their own process). Every served row but "status, cache folder unusable, served by the watcher" sets GITBUS_SERVE=1: by default a command that can start from its code cache runs in its own process, which ends sooner (the rows without "served"), and only one that cannot (that row) is served. The watcher's standby (cli/serve/) loads and warms up in the background after each served run; its CPU is not the client's and is not counted, and the next case starts once it is ready${notReady === 0 ? '' : ` (${notReady} times not within ${SETTLE_MS / 1000} s: the next case ran beside it)`}.`);
  lines.push('', ...sameGitWorkLines(cases, samples, base));
  lines.push('', 'The HTTP remote: git http-backend behind a Node HTTP server on 127.0.0.1, in a process of its own (its CPU is not counted); the listing is a request, so the ratio has a network exchange in it that node -e 0 has not.');
  lines.push('', ...bursts);
  if (hasCpu) lines.push('', 'CPU/run: user + system time of the process and what it waited for (git), the mean over the runs, from /proc/self/stat (clock ticks); less sensitive to a busy machine than wall time.');
  lines.push('');
}

/**
 * What a dispatch from the bench's project checkout asks git (bus/project/checkout-look.ts): the look's five commands
 * started together. Its HEAD is pushed, at origin/main, so the project remote is not listed (bus/project/resolve.ts
 * pushedAsSeen).
 */
const CHECKOUT_GIT_WORK = [
  'git rev-parse --show-toplevel >/dev/null &',
  'git status --porcelain=v2 --branch --no-ahead-behind >/dev/null &',
  `git config -z --get-regexp '${LOOK_CONFIG}' >/dev/null &`,
  "git for-each-ref --points-at=HEAD --format='%(objectname) %(refname)' refs/remotes/ >/dev/null &",
  'git log --oneline -5 >/dev/null &',
  'wait',
].join('\n');

/**
 * What gitbus adds over git in the rows that do git work (a dispatch from a checkout runs git; a status over HTTP
 * makes a request): the row's median less its baseline's (the same work with the git CLI), against Node's start.
 */
function sameGitWorkLines(cases: Case[], samples: Sample[], node: Sample): string[] {
  const out = ['What gitbus adds to the git work of a row (the row less the same work done with the git CLI, against node -e 0):'];
  cases.forEach((c, i) => {
    const row = c.gitWorkOf === undefined ? undefined : samples[cases.indexOf(c.gitWorkOf)];
    const git = samples[i];
    if (c.gitWorkOf === undefined || row === undefined || git === undefined) return;
    const own = row.median - git.median;
    const ratio = own / node.median;
    out.push(`- ${c.gitWorkOf.label}: ${fmt(row.median)} ms less ${fmt(git.median)} ms = ${fmt(own)} ms, ${ratio.toFixed(2)}x (target <= ${TARGET}x: ${ratio <= TARGET ? 'met' : 'MISSED'})`);
  });
  return out;
}

/** The homes of one build's rows (startupBench's homesOf). */
interface BuildHomes {
  status: string;
  afterDispatch: string;
  dispatch: string;
  dispatch200: string;
  dispatch1000: string;
  http: string;
  archive: string;
  archiveHttp: string;
}

interface ServingWatcher {
  child: import('node:child_process').ChildProcess;
  /** Standbys ready, as the watcher last said (its `standbys` events). */
  ready: () => number;
  /** How many `standbys` events it has sent. */
  events: () => number;
}

/** How long the case after a served one waits for the next standby to be ready. */
const SETTLE_MS = 20_000;

/**
 * Whether the standby that replaces the one a served run took is ready: a `standbys` event after the run's
 * (`seen` events before it; the hand-over itself sends one) that says one is ready. False after SETTLE_MS.
 */
async function settled(w: ServingWatcher, seen: number): Promise<boolean> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    await new Promise((r) => setTimeout(r, 10));
    if (w.events() > seen && w.ready() >= 1) return true;
    if (Date.now() > deadline) return false;
  }
}

/** `gitbus watch` (or `args`: `serve`) in `home`, once it serves commands (its `serving` event); killed by the caller. */
async function serving(home: string, cache: string, args = ['watch', '--json']): Promise<ServingWatcher> {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: cache };
  delete env['GITBUS_HOME'];
  const child = spawn(process.execPath, [BIN, ...args, '--home', home], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let ready = 0;
  let events = 0;
  await new Promise<void>((resolveServing, reject) => {
    const timer = setTimeout(() => reject(new Error(`the watcher in ${home} did not serve within 60 s: ${out}`)), 60_000);
    let line = '';
    const seen = (d: Buffer) => {
      out = (out + d.toString()).slice(-100_000);
      // Whole lines only, each once (a chunk may end inside one; out keeps a tail that would count them again).
      const lines = (line + d.toString()).split('\n');
      line = lines.pop() ?? '';
      for (const l of lines) {
        const m = /"type":"standbys","ready":(\d+)/.exec(l);
        if (m === null) continue;
        ready = Number(m[1]);
        events++;
      }
      if (out.includes('"type":"serving"')) {
        clearTimeout(timer);
        resolveServing();
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`the watcher in ${home} exited ${code}: ${out}`)));
  });
  return { child, ready: () => ready, events: () => events };
}

const BURST = 12;

/**
 * Commands back to back against a serving watcher, as a script's loop or an agent runs them: how many of a burst of
 * BURST `status` runs were served, the first burst (one standby ready when it starts) and a second one started once
 * the watcher has as many ready as it keeps for bursts.
 */
async function burstRows(home: string, watcher: ServingWatcher, env: NodeJS.ProcessEnv, dir: string): Promise<string[]> {
  const settle = async () => {
    // The standbys the watcher keeps, loaded (bounded: a loaded machine may take long; the row then says so).
    const deadline = Date.now() + 30_000;
    let last = -1;
    let steady = Date.now();
    while (Date.now() < deadline && Date.now() - steady < 3000) {
      if (watcher.ready() !== last) {
        last = watcher.ready();
        steady = Date.now();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return watcher.ready();
  };
  const burst = () => {
    const report = join(dir, `burst-${Date.now()}.jsonl`);
    const wall: number[] = [];
    for (let i = 0; i < BURST; i++) {
      const t = process.hrtime.bigint();
      spawnSync(process.execPath, [BIN, 'status', '--home', home], { cwd: dir, env: { ...env, GITBUS_SERVE_REPORT: report, GITBUS_SERVE: '1' }, stdio: 'ignore' });
      wall.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const served = readFileSync(report, 'utf8').split('\n').filter((l) => l.includes('"served":true')).length;
    return { served, wall: summarize(wall) };
  };
  const rows: string[] = [`Bursts: ${BURST} \`gitbus status\` back to back on the served node (each starts when the one before ends):`];
  const readyAtFirst = await settle();
  const first = burst();
  rows.push(`- first burst (${readyAtFirst} standby ready at its start): ${first.served} of ${BURST} served, median ${fmt(first.wall.median)} ms a command`);
  const readyAtSecond = await settle();
  const second = burst();
  rows.push(`- second burst (${readyAtSecond} ready at its start): ${second.served} of ${BURST} served, median ${fmt(second.wall.median)} ms a command`);
  return rows;
}

