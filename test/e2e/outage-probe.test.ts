import { afterAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json, tempDir } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { mainListing, readRefs } from '../helpers/refs.js';
import { sshdAvailable, startSshd, type Sshd } from '../helpers/sshd.js';
import { pushHandoffs } from '../helpers/project.js';
import { until } from '../helpers/wait.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';

/**
 * An outage is not a death (docs/PROTOCOL.md §5a): three watchers, each its own OS process with its own home,
 * lose the remote for longer than the lease while they run a dozen short tasks. Nobody could beat, so nobody
 * was seen to be silent: afterwards every task ran exactly once and has exactly one response, nothing was
 * reclaimed or rejected, and every watcher is back to work promptly.
 */
const TASKS = 12;
const NODES = ['n1', 'n2', 'n3'];
/** The bus's settings: the lease of the scenario, a heartbeat of 3 s. */
const initArgs = (leaseMs: number) => ['--lease', `${leaseMs / 1000}s`, '--heartbeat', '3s'];
const JOIN_ARGS = ['--runner', 'shell', '--parallel', '2'];

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups.reverse()) await c();
});

interface Scenario {
  /** The bus lease; the heartbeat is 3 s, the outage lasts `outageMs`, well beyond the lease. */
  leaseMs: number;
  outageMs: number;
  /** The bare repository on disk (for plain-git checks). */
  bare: string;
  env: NodeJS.ProcessEnv;
  cut: () => Promise<void>;
  restore: () => Promise<void>;
}

/** Every node's home in `dir`, home-<node>: boss, which made the bus, and the three that run its tasks. */
async function outageRun(s: Scenario, dir: string): Promise<void> {
  const home = (n: string) => join(dir, `home-${n}`);
  const run = (args: string[], n: string) => gitbus(args, { home: home(n), env: s.env });
  const nodes = NODES;
  const markers = join(dir, 'markers');
  mkdirSync(markers);
  // The tasks are pushed in one plain-git commit, as a person would (the outage is the subject, not dispatch,
  // which over SSH cost a CLI process and two exchanges per task). Each run appends a line to its task's marker
  // file: the number of lines is the number of runs. A run then waits (bounded) for the gate, opened once the remote
  // is cut: the runs in flight at the cut are still running then, however slow the machine, so no watcher has a
  // free slot, and no claim or response push is in flight, when the remote goes away.
  const gate = join(dir, 'gate');
  const ids = Array.from({ length: TASKS }, (_, i) => `outage-${String(i).padStart(2, '0')}`);
  const command = `echo "$GITBUS_ATTEMPT" >> '${markers}'/"$GITBUS_TASK_ID"; i=0; while [ ! -e '${gate}' ] && [ $i -lt 1800 ]; do sleep 0.1; i=$((i+1)); done; sleep 1`;
  pushHandoffs(join(dir, 'person'), s.bare, ids.map((id, i) => ({ id, frontmatter: { title: `short task ${i}`, command } })));
  const startedAt = Date.now();
  let cutAt = 0;
  let restoredAt = 0;
  // When each node's heartbeat moved, as seen on the remote's disk: explains a failure (who could not beat when).
  // Read from the files (test/helpers/refs.ts): `git for-each-ref` four times a second was some 500 processes a run.
  const beats = new Map<string, number[]>();
  let lastBeat = new Map<string, string>();
  const beatWatch = setInterval(() => {
    try {
      const now = readRefs(s.bare, 'refs/gitbus/heartbeats/');
      for (const [n, oid] of now) if (lastBeat.get(n) !== oid) beats.set(n, [...(beats.get(n) ?? []), Date.now() - startedAt]);
      lastBeat = now;
    } catch {
      // the remote is away
    }
  }, 250);
  // Stopped on the way out too, when an expectation fails first.
  cleanups.push(async () => clearInterval(beatWatch));
  // The retry waits (1 s, at most 2 s) are what bring a watcher back; the poll only finds work, and at 1 s it was
  // three fetches a second (over SSH, three logins) for the whole run.
  const watchers: WatcherProcess[] = nodes.map((n) => startWatcher(home(n), ['--poll', '2s', '--retry', '1s', '--retry-max', '2s'], children, s.env));
  const all = () => watchers.flatMap((w) => w.events());
  const explain = () => `lease ${s.leaseMs} ms; cut at ${cutAt - startedAt} ms, restored at ${restoredAt - startedAt} ms\nbeats: ${JSON.stringify(Object.fromEntries(beats))}\n${watchers.map((w, i) => `${nodes[i]}: ${w.events().map((e) => `${String(e['_at'])} ${e.type}${e.id ? ` ${e.id}` : ''}${e['attempt'] ? `.${String(e['attempt'])}` : ''}`).join(', ')}\n${w.stderr()}`).join('\n')}`;
  // Cut once every slot runs a task: a watcher with no free slot claims nothing until a run ends (at the gate), so
  // no claim push is in flight at the cut. (A cut mid-push can land on the remote while its node sees only the
  // dropped connection; that node finds the claim when it is back and gives it up for a second attempt: a separate
  // case, left out of this probe, which is about silences.)
  await until('every slot of every watcher to be running a task', () => watchers.every((w) => w.events().filter((e) => e.type === 'claimed').length >= 2), 60_000, explain);

  // The remote goes away for longer than the lease while runs are in flight.
  await s.cut();
  cutAt = Date.now();
  // The runs in flight end during the outage: their responses wait for the remote.
  writeFileSync(gate, '');
  await until('every watcher to notice the outage', () => watchers.every((w) => w.events().some((e) => e.type === 'remote-down')), 30_000, explain);
  // The outage itself is the scenario: it lasts well beyond the lease, whatever the machine's load.
  await until(`the outage to last ${s.outageMs / 1000} s`, () => Date.now() - cutAt >= s.outageMs, s.outageMs + 5_000);
  await s.restore();
  restoredAt = Date.now();
  await until('every watcher to be back', () => watchers.every((w) => w.events().some((e) => e.type === 'remote-up')), 30_000, explain);
  const backWithin = Date.now() - restoredAt;

  // Read straight from the bare repository, listed again only when main moved: a CLI process per poll would load
  // the machine the watchers run on.
  const responses = mainListing(s.bare, 'responses');
  await until('every task to end', () => responses().length === TASKS, 120_000, explain);

  // One status for every task's state, and the claims straight from the bare repository: a `show` per task cost
  // a CLI process (and, over SSH, an exchange) each.
  const status = json<{ tasks: { id: string; state: string }[] }>(await run(['status', '--json'], 'boss'));
  const claims = gitCli(['--git-dir', s.bare, 'ls-tree', '--name-only', 'main', 'claims/']).trim().split('\n').filter(Boolean);
  for (const id of ids) {
    expect(status.tasks.find((t) => t.id === id)?.state, `${id}\n${explain()}`).toBe('succeeded');
    // Claimed once, never reclaimed from a node that was only cut off.
    expect(claims.filter((p) => p.startsWith(`claims/${id}.`)), `${id}\n${explain()}`).toEqual([`claims/${id}.1.md`]);
    expect(readFileSync(join(markers, id), 'utf8').trim().split('\n'), `${id} ran more than once`).toEqual(['1']);
  }
  expect(claims.sort()).toEqual(ids.map((id) => `claims/${id}.1.md`).sort());
  expect(readdirSync(markers).sort()).toEqual([...ids].sort());
  expect(all().filter((e) => e.type === 'rejected' || e.type === 'released' || e.type === 'reaped')).toEqual([]);
  expect(all().filter((e) => e.type === 'claimed' && e['reclaimed'] === true)).toEqual([]);
  expect(responses().sort()).toEqual(ids.map((id) => `responses/${id}.md`).sort());
  // Promptly: the retry waits are at most 2 s here; generous for a machine running two test suites at once.
  expect(backWithin).toBeLessThan(30_000);

  clearInterval(beatWatch);
  for (const w of watchers) w.child.kill('SIGTERM');
  for (const w of watchers) expect(await w.exited).toBe(0);
}

const sshd_ = sshdAvailable();
if (!sshd_) console.warn('skipping the SSH outage test: /usr/sbin/sshd is not installed (apt-get install openssh-server)');

// The two scenarios have their own buses, homes and (for SSH) server, and spend most of their time waiting out
// the outage: they run side by side.
describe('an outage is not a death', () => {
  it.concurrent('over a local remote renamed away for longer than the lease: every task runs once, one response each, nothing lost', { timeout: 240_000 }, async () => {
    // The bus is the fixture, set up in this process (test/helpers/bus.ts); the outage is the subject.
    const leaseMs = 10_000;
    const bus = await makeBus({ node: 'boss', initArgs: initArgs(leaseMs) });
    cleanups.push(bus.cleanup);
    for (const n of NODES) await bus.addNode(n, [], JOIN_ARGS);
    const bare = bus.remote;
    await outageRun(
      {
        leaseMs,
        outageMs: 2 * leaseMs,
        bare,
        env: {},
        cut: async () => renameSync(bare, `${bare}.away`),
        restore: async () => renameSync(`${bare}.away`, bare),
      },
      bus.dir,
    );
  });

  it.skipIf(!sshd_).concurrent('over SSH, with the sshd stopped for longer than the lease: every task runs once, one response each, nothing lost', { timeout: 240_000 }, async () => {
    const sshd: Sshd = await startSshd();
    cleanups.push(() => sshd.cleanup());
    const dir = await tempDir('gitbus-sshoutage-');
    cleanups.push(dir.cleanup);
    const bare = join(dir.path, 'srv', 'bus.git');
    gitCli(['init', '-q', '--bare', '--initial-branch=main', bare]);
    // Over SSH the nodes' init and join run by the CLI: their ssh needs the sshd's environment.
    const remote = `busbox:${bare}`;
    const cli = (args: string[], n: string) => gitbus([...args, '--json'], { home: join(dir.path, `home-${n}`), env: sshd.env });
    // A longer lease than over a local path: every SSH exchange costs more on a loaded machine, and a heartbeat
    // waits for the clone lock behind them (a real silence the observers would rightly act on).
    const leaseMs = 12_000;
    const init = await cli(['init', '--remote', remote, '--node', 'boss', ...initArgs(leaseMs)], 'boss');
    expect(init.code, init.stderr).toBe(0);
    const joins = await Promise.all(NODES.map((n) => cli(['join', remote, '--node', n, ...JOIN_ARGS], n)));
    for (const j of joins) expect(j.code, j.stderr).toBe(0);
    await outageRun({ leaseMs, outageMs: 2 * leaseMs, bare, env: sshd.env, cut: () => sshd.stop(), restore: () => sshd.start() }, dir.path);
  });
});
