import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { statusInProcess } from '../helpers/in-process.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { fingerprintOf, NO_GIT_KEY } from '../helpers/ssh-keys.js';

/**
 * Bus settings that decide reclaims come from the trust root (issue 11), with real ssh-keygen keys and nodes as
 * processes. Admin alice; nodes w and v pinned the root. While w runs a task, someone with push access sets
 * `lease: 3s` and `maxAttempts: 99` in gitbus.yaml with plain git. v's watcher, polling every second, watches w's
 * heartbeat stand still for longer than 3 s (w beats every 30 s, as trust version 1 says) and does not reclaim
 * the task: v uses the version's lease; status, lint and doctor show the override. The task ends once. Then the
 * admin's `gitbus trust settings` changes the lease for pinned nodes and gitbus.yaml in one commit.
 */

let bus: Awaited<ReturnType<typeof makeBus>>;
let boss: string;
let w: string;
let v: string;
let keys: string;
let person: string;
const children: ChildProcess[] = [];
const key = (name: string) => join(keys, name);
const fp = (name: string) => fingerprintOf(`${key(name)}.pub`);
const onMain = (path: string) => gitCli(['show', `main:${path}`], bus.remote);

interface Problem { path: string; field: string; reason: string; fix: string; severity: string }
interface Status {
  settings: { leaseMs: number; heartbeatMs: number; maxAttempts: number; pollMs: number };
  settingsOverridden: { key: string; bus: string | number | null; trusted: string | number; version: number }[];
  tasks: { id: string; state: string; attempts: number; claim: { attempt: number; node: string } | null }[];
  problems: Problem[];
  trust: { version: number } | null;
}
const status = async (home: string) => {
  const r = await gitbus(['status', '--json'], { home });
  expect(r.code, r.stderr).toBe(0);
  return json<Status>(r);
};
/** The task's state as boss sees it, read in the test's process (test/helpers/in-process.ts): for the waits, polled every 200 ms. */
const stateOnBoss = async (id: string) => (await statusInProcess<Status>(boss)).tasks.find((t) => t.id === id)?.state;

async function admin(args: string[]): Promise<Record<string, unknown>> {
  const r = await gitbus([...args, '--key', key('alice'), '--json'], { home: boss });
  expect(r.code, `${args.join(' ')}: ${r.stderr}${r.stdout}`).toBe(0);
  return json<Record<string, unknown>>(r);
}

/** Changes gitbus.yaml as anyone with push access could, with plain git. */
function pushSettings(change: Record<string, unknown>): void {
  gitCli(['pull', '-q', '--ff-only'], person);
  const path = join(person, 'gitbus.yaml');
  writeFileSync(path, stringify({ ...(parse(readFileSync(path, 'utf8')) as Record<string, unknown>), ...change }));
  gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qam', 'shorter leases'], person);
  gitCli(['push', '-q', 'origin', 'HEAD:main'], person);
}

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  boss = bus.home('boss');
  keys = join(bus.dir, 'keys');
  mkdirSync(keys);
  for (const k of ['alice', 'bob']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', key(k)]);
  const c = parse(readFileSync(join(boss, 'node.yaml'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(boss, 'node.yaml'), stringify({ ...c, signingKey: key('alice') }));
  w = await bus.addNode('w', [], ['--runner', 'shell']);
  v = await bus.addNode('v', [], ['--runner', 'shell']);
  person = join(bus.dir, 'person');
  gitCli(['clone', '-q', bus.remote, person]);
}, 60_000);

afterAll(async () => {
  for (const ch of children) ch.kill('SIGKILL');
  await bus?.cleanup();
});

describe('bus settings fixed by the trust root', () => {
  it('trust init copies the bus\'s lease, heartbeat and maxAttempts into version 1; trust list shows them', async () => {
    const init = await admin(['trust', 'init', '--admin', `alice=${key('alice')}.pub`, '--unlisted-nodes', 'accept']);
    expect(init['settings']).toEqual({ lease: '5m', heartbeat: '30s', maxAttempts: 3 });
    expect(parse(onMain('trust/chain/1.policy.yaml')).settings).toEqual({ lease: '5m', heartbeat: '30s', maxAttempts: 3 });
    for (const node of ['w', 'v']) {
      const r = await gitbus(['trust', 'pin', '--trust', fp('alice'), '--json'], { home: bus.home(node) });
      expect(r.code, r.stderr).toBe(0);
    }
    const list = json<{ accepted: { settings: unknown } }>(await gitbus(['trust', 'list', '--json'], { home: v }));
    expect(list.accepted.settings).toEqual({ lease: '5m', heartbeat: '30s', maxAttempts: 3 });
    expect((await gitbus(['trust', 'list'], { home: v })).stdout).toContain('settings: lease 5m, heartbeat 30s, maxAttempts 3');
  }, 30_000);

  it('with lease: 3s pushed into gitbus.yaml while w runs a task, pinned v does not reclaim it, shows the override, and the task ends once', async () => {
    const go = join(bus.dir, 'go');
    const runs = join(bus.dir, 'runs');
    // The task waits for the test's gate for up to 2 minutes (2,400 x 50 ms): at load 25 the steps below took over
    // a minute, and a task that ended by itself first no longer tests a reclaim.
    const d = await gitbus(['dispatch', 'long', '--command', `echo run >> ${runs}; for i in $(seq 1 2400); do [ -e ${go} ] && break; sleep 0.05; done`, '--json', '--no-git'], { home: boss, env: NO_GIT_KEY });
    expect(d.code, d.stderr).toBe(0);
    const id = json<{ id: string }>(d).id;
    const ww: WatcherProcess = startWatcher(w, ['--poll', '1s'], children);
    await until('w to claim the task', async () => (await stateOnBoss(id)) === 'claimed', 15_000, () => ww.stderr());

    pushSettings({ lease: '3s', maxAttempts: 99 });
    const tampered = Date.now();
    const vw: WatcherProcess = startWatcher(v, ['--poll', '1s'], children);
    // v's watcher lists the remote every second and, by gitbus.yaml, would find w silent once w's heartbeat stood
    // still for 3 s. Wait until it has watched it stand still for 5 s, by v's own records, after the change.
    // (A 1 s lease would expire nobody here: a watcher listing only every second restarts its silence clocks at
    // each listing, since a pause of half the lease in its own listings restarts them, PROTOCOL.md §5a.)
    const watched = () => {
      if (!existsSync(join(v, 'liveness.json'))) return 0;
      const obs = JSON.parse(readFileSync(join(v, 'liveness.json'), 'utf8')) as { listedAt: number; nodes: Record<string, { counted: number }> };
      const counted = obs.nodes['w']?.counted;
      return counted === undefined || obs.listedAt < tampered ? 0 : obs.listedAt - counted;
    };
    const reclaimed = () => vw.events().some((e) => e.type === 'claimed' || e.type === 'reaped');
    await until('v to watch w\'s heartbeat stand still for 5 s', () => watched() > 5_000 || reclaimed(), 15_000, () => `${watched()}\n${vw.stderr()}`);
    expect(vw.events().filter((e) => e.type === 'claimed')).toEqual([]);
    const next = await gitbus(['claim', '--next', '--json'], { home: v });
    expect(next.code, next.stdout).toBe(3);

    const s = await status(v);
    expect(s.tasks.find((t) => t.id === id)).toMatchObject({ state: 'claimed', attempts: 1, claim: { attempt: 1, node: 'w' } });
    expect(s.settings).toMatchObject({ leaseMs: 300_000, heartbeatMs: 30_000, maxAttempts: 3 });
    expect(s.settingsOverridden).toEqual([
      { key: 'lease', bus: '3s', busEffective: '3s', trusted: '5m', version: 1 },
      { key: 'maxAttempts', bus: 99, busEffective: 99, trusted: 3, version: 1 },
    ]);
    const lease = s.problems.find((p) => p.path === 'gitbus.yaml' && p.field === 'lease');
    expect(lease).toMatchObject({ severity: 'warning', reason: 'gitbus.yaml says lease 3s; trust version 1 says 5m, which this node uses' });
    expect(lease?.fix).toContain('gitbus trust settings lease=3s');
    expect((await gitbus(['status'], { home: v })).stdout).toContain('gitbus.yaml says maxAttempts 99; trust version 1 says 3, which this node uses');
    const lint = await gitbus(['lint', '--json'], { home: v });
    expect(json<{ problems: Problem[] }>(lint).problems.filter((p) => p.path === 'gitbus.yaml').map((p) => p.field)).toEqual(['heartbeat', 'lease', 'maxAttempts']); // the file's own heartbeat 10s is not shorter than its lease 3s
    const doctor = json<{ checks: { name: string; status: string; detail: string }[] }>(await gitbus(['doctor', '--json'], { home: v }));
    expect(doctor.checks.find((c) => c.name === 'trust.settings')).toMatchObject({ status: 'warn', detail: expect.stringContaining('gitbus.yaml says lease 3s; trust version 1 says 5m') });

    writeFileSync(go, '');
    await until('the task to end', async () => (await stateOnBoss(id)) === 'succeeded', 15_000, () => ww.stderr());
    expect(readFileSync(runs, 'utf8')).toBe('run\n');
    expect(vw.events().filter((e) => e.type === 'claimed' || e.type === 'reaped')).toEqual([]);
    for (const x of [ww, vw]) x.child.kill('SIGTERM');
    await Promise.all([ww.exited, vw.exited]);
  }, 150_000);

  it('trust settings refuses values gitbus.yaml\'s own rules refuse, and writes nothing', async () => {
    const refused = async (args: string[], message: RegExp) => {
      const r = await gitbus(['trust', 'settings', ...args, '--key', key('alice'), '--json'], { home: boss });
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toMatch(message);
    };
    await refused(['lease=0s'], /lease: the duration must be greater than zero/);
    await refused(['maxAttempts=101'], /maxAttempts: expected a whole number from 1 to 100, got the number 101/);
    await refused(['lease=5 minutes'], /lease: "5 minutes" is not a duration/);
    await refused(['heartbeat=10m'], /heartbeat: the heartbeat \(10m\) is not shorter than the lease \(5m\)/);
    await refused(['poll=1s'], /poll is not a setting a trust version fixes/);
    expect(gitCli(['ls-tree', '--name-only', 'main', 'trust/chain/'], bus.remote).trim().split('\n')).toEqual(['trust/chain/1.allowed_signers', 'trust/chain/1.policy.yaml', 'trust/chain/1.yaml']);
  }, 30_000);

  it('trust settings by the admin changes the lease for pinned nodes and rewrites gitbus.yaml to match in the same commit', async () => {
    const r = await admin(['trust', 'settings', 'lease=2m', 'heartbeat=10s', 'maxAttempts=3']);
    expect(r).toMatchObject({ version: 2, status: 'accepted', gitbusYaml: 'rewritten' });
    expect(parse(onMain('trust/chain/2.policy.yaml')).settings).toEqual({ lease: '2m', heartbeat: '10s', maxAttempts: 3 });
    expect(parse(onMain('gitbus.yaml'))).toMatchObject({ lease: '2m', heartbeat: '10s', maxAttempts: 3 });
    const changed = gitCli(['show', '--name-only', '--format=', 'main'], bus.remote).trim().split('\n');
    expect(changed).toEqual(expect.arrayContaining(['gitbus.yaml', 'trust/chain/2.policy.yaml', 'trust/policy.yaml']));

    const s = await status(v);
    expect(s.trust).toEqual({ version: 2 });
    expect(s.settings).toMatchObject({ leaseMs: 120_000, heartbeatMs: 10_000, maxAttempts: 3 });
    expect(s.settingsOverridden).toEqual([]);
    expect(s.problems.filter((p) => p.path === 'gitbus.yaml')).toEqual([]);
    const doctor = json<{ checks: { name: string; status: string; detail: string }[] }>(await gitbus(['doctor', '--json'], { home: v }));
    expect(doctor.checks.find((c) => c.name === 'trust.settings')).toMatchObject({ status: 'ok', detail: 'trust version 2 fixes lease 2m, heartbeat 10s, maxAttempts 3, and gitbus.yaml says the same' });
  }, 30_000);

  it('with a threshold of 2, new settings wait as a proposal, and the signature that completes it rewrites gitbus.yaml', async () => {
    await admin(['trust', 'add', 'admin', 'bob', `${key('bob')}.pub`]);
    await admin(['trust', 'threshold', '2']);
    const proposed = await admin(['trust', 'settings', 'lease=3m']);
    expect(proposed).toMatchObject({ version: 5, status: 'pending', gitbusYaml: 'later' });
    expect(parse(onMain('gitbus.yaml'))).toMatchObject({ lease: '2m' });
    expect((await status(v)).settings.leaseMs).toBe(120_000);
    const signed = await gitbus(['trust', 'sign', '5', '--key', key('bob'), '--json'], { home: boss });
    expect(signed.code, signed.stderr).toBe(0);
    expect(json(signed)).toMatchObject({ version: 5, status: 'accepted', gitbusYaml: 'rewritten' });
    expect(parse(onMain('gitbus.yaml'))).toMatchObject({ lease: '3m', heartbeat: '10s', maxAttempts: 3 });
    const s = await status(v);
    expect(s.settings.leaseMs).toBe(180_000);
    expect(s.settingsOverridden).toEqual([]);
  }, 30_000);
});
