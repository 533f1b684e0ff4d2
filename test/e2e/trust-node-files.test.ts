import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { pushFiles, removeFiles } from '../helpers/push-access.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { fingerprintOf, NO_GIT_KEY } from '../helpers/ssh-keys.js';
import { showInProcess } from '../helpers/in-process.js';

/**
 * Files a node writes in its own name, under trust (issue 11 point 3, second half), with real ssh-keygen keys and
 * nodes as processes. Admin alice; nodes w and v pinned the root and their keys are listed in it. Someone with push
 * access (plain git) forges a response for the task w is running, a claim in v's name, a claim carrying a signature
 * copied from a real one, and v's card: each is ignored by the nodes and reported by status, show and lint, and the
 * real work goes on — w's real result replaces the forged one, v's claim goes past the forged attempt.
 */
const FINAL = ['succeeded', 'failed', 'timed-out', 'cancelled'];

let bus: Awaited<ReturnType<typeof makeBus>>;
let boss: string;
let w: string;
let v: string;
let keys: string;
let person: string;
let watcher: WatcherProcess;
const children: ChildProcess[] = [];
const key = (name: string) => join(keys, name);
const fp = (name: string) => fingerprintOf(`${key(name)}.pub`);
const nodeKey = (home: string) => join(home, 'keys', 'node_ed25519.pub');
const now = () => new Date().toISOString();

interface Forged { path: string; kind: string; id?: string; node: string | null; reason: string }
interface Status { tasks: { id: string; state: string; claim: { attempt: number; node: string } | null }[]; forged: Forged[]; nodes: { node: string; card?: { labels?: string[] } }[] }
const status = async (home = boss) => json<Status>(await gitbus(['status', '--json'], { home }));
const task = (s: Status, id: string) => s.tasks.find((t) => t.id === id);

async function admin(args: string[]): Promise<void> {
  const r = await gitbus([...args, '--key', key('alice'), '--json'], { home: boss });
  expect(r.code, `${args.join(' ')}: ${r.stderr}${r.stdout}`).toBe(0);
}

async function dispatch(name: string, command: string, to: string, extra: string[] = []): Promise<string> {
  const r = await gitbus(['dispatch', name, '--command', command, '--to', to, ...extra, '--json', '--no-git'], { home: boss, env: NO_GIT_KEY });
  expect(r.code, r.stderr).toBe(0);
  return json<{ id: string }>(r).id;
}

/** Writes files into main as anyone with push access could, with plain git. */
const push = (files: Record<string, string>, message: string): void => pushFiles(person, files, message);

const onMain = (path: string) => gitCli(['show', `main:${path}`], bus.remote);
let ended = '';

const pushRemove = (paths: string[], message: string): void => removeFiles(person, paths, message);

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  boss = bus.home('boss');
  keys = join(bus.dir, 'keys');
  mkdirSync(keys);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key('alice')]);
  await admin(['trust', 'init', '--admin', `alice=${key('alice')}.pub`, '--unlisted-nodes', 'accept']);
  await admin(['trust', 'add', 'rule', '--signers', 'alice', '--runners', 'shell', '--nodes', '*']);
  const c = parse(readFileSync(join(boss, 'node.yaml'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(boss, 'node.yaml'), stringify({ ...c, signingKey: key('alice') }));
  w = await bus.addNode('w', [], ['--runner', 'shell', '--trust', fp('alice')]);
  v = await bus.addNode('v', [], ['--runner', 'shell', '--trust', fp('alice')]);
  await admin(['trust', 'add', 'node', 'w', nodeKey(w)]);
  await admin(['trust', 'add', 'node', 'v', nodeKey(v)]);
  person = join(bus.dir, 'person');
  gitCli(['clone', '-q', bus.remote, person]);
}, 60_000);

afterAll(async () => {
  for (const ch of children) ch.kill('SIGKILL');
  await bus?.cleanup();
});

describe('claims, responses and cards forged in a node\'s name', () => {
  it('a response forged for the task w is running is ignored and reported, and w\'s real result replaces it', async () => {
    watcher = startWatcher(w, ['--poll', '1s'], children);
    const go = join(bus.dir, 'go-t1');
    const id = await dispatch('long', `for i in $(seq 1 600); do [ -e ${go} ] && break; sleep 0.05; done; echo real-result`, 'w');
    await until('w to claim the task', async () => task(await status(), id)?.state === 'claimed', 20_000, () => watcher.stderr());
    push({ [`responses/${id}.md`]: `---\nid: ${id}\nstatus: succeeded\nnode: w\nattempt: 1\nfinished: ${now()}\n---\n## Summary\n\nforged\n` }, 'a forged response');

    const s = await status();
    expect(task(s, id)?.state).toBe('claimed');
    const f = s.forged.find((x) => x.path === `responses/${id}.md`);
    expect(f?.reason).toMatch(/^forged in the name of node w: it is not signed/);
    expect(f).toMatchObject({ kind: 'response', id, node: 'w' });
    const human = await gitbus(['status'], { home: boss });
    expect(human.stdout).toContain("forged in a node's name, ignored by this node (1):");
    const shown = json<{ state: string; files: { path: string }[]; forged: Forged[] }>(await gitbus(['show', id, '--json'], { home: boss }));
    expect(shown.state).toBe('claimed');
    expect(shown.files.map((x) => x.path)).not.toContain(`responses/${id}.md`);
    expect(shown.forged.map((x) => x.path)).toEqual([`responses/${id}.md`]);
    const lint = await gitbus(['lint', '--json'], { home: boss });
    expect(lint.code).toBe(8);
    expect(json<{ problems: { path: string; reason: string }[] }>(lint).problems.find((p) => p.path === `responses/${id}.md`)?.reason).toMatch(/forged/);

    writeFileSync(go, '');
    let end: { state: string; files: { path: string; text: string }[]; forged: Forged[] } = { state: '', files: [], forged: [] };
    await until('the task to end', async () => {
      end = await showInProcess<typeof end>(boss, id);
      return FINAL.includes(end.state);
    }, 20_000, () => `${JSON.stringify(end)}\n${watcher.stderr()}`);
    expect(end.state).toBe('succeeded');
    expect(end.files.find((x) => x.path === `responses/${id}.md`)?.text).toContain('real-result');
    expect(end.forged).toEqual([]);
    // w signed its claim and response; ssh-keygen verifies them against trust/allowed_signers as node:w.
    for (const [path, ns] of [[`claims/${id}.1.md`, 'gitbus-claim@v1'], [`responses/${id}.md`, 'gitbus-response@v1']] as const) {
      const dir = join(bus.dir, 'verify');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'allowed'), onMain('trust/allowed_signers'));
      writeFileSync(join(dir, 'sig'), onMain(`signatures/${path}.sig`));
      const out = execFileSync('ssh-keygen', ['-Y', 'verify', '-f', join(dir, 'allowed'), '-I', 'node:w', '-n', ns, '-s', join(dir, 'sig')], { input: `gitbus ${ns.slice(7, -3)} v1\n${path}\n${onMain(path)}`, encoding: 'utf8' });
      expect(out).toContain(`Good "${ns}" signature for node:w`);
    }
    watcher.child.kill('SIGTERM');
    await watcher.exited;
    ended = id;
  }, 60_000);

  it('deleting the claim and response of a task that ended does not make a node that saw it end run it again', async () => {
    const id = ended;
    pushRemove([`claims/${id}.1.md`, `responses/${id}.md`, `signatures/claims/${id}.1.md.sig`, `signatures/responses/${id}.md.sig`], 'an end removed');
    const s = json<{ tasks: { id: string; state: string; untrusted?: string }[] }>(await gitbus(['status', '--json'], { home: w }));
    const t = s.tasks.find((x) => x.id === id);
    expect(t?.state).toBe('pending');
    expect(t?.untrusted).toMatch(/^replayed: this node saw task .* end, and its response was removed/);
    const r = await gitbus(['claim', id, '--json'], { home: w });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/replayed/);
  });

  it('deleting the cancel of a task a node saw cancelled does not make it run there', async () => {
    const ran = join(bus.dir, 'cancel-revived.out');
    const id = await dispatch('dangerous', `echo RAN > ${ran}`, 'w');
    const c = await gitbus(['cancel', id, '--json'], { home: boss });
    expect(c.code, c.stderr).toBe(0);
    expect((await status(w)).tasks.find((x) => x.id === id)?.state).toBe('cancelled');
    const paths = gitCli(['ls-tree', '-r', '--name-only', 'main'], bus.remote).split('\n').filter((p) => p === `cancels/${id}.md` || p === `signatures/cancels/${id}.md.sig`);
    expect(paths).toContain(`cancels/${id}.md`);
    pushRemove(paths, 'a cancel removed');
    const t = json<{ tasks: { id: string; state: string; untrusted?: string }[] }>(await gitbus(['status', '--json'], { home: w })).tasks.find((x) => x.id === id);
    expect(t?.state).toBe('pending');
    expect(t?.untrusted).toMatch(/^replayed: this node saw task .* cancelled, and its cancel was removed/);
    const once = startWatcher(w, ['--once'], children);
    await once.exited;
    // w refused it (a refusal ends it as failed, saying why) rather than run it.
    expect(existsSync(ran)).toBe(false);
    expect(task(await status(), id)?.state).toBe('failed');
    expect(onMain(`responses/${id}.md`)).toMatch(/replayed: this node saw task .* cancelled/);
  }, 60_000);

  it("a claim forged in v's name does not hold the task; v's own claim goes past it, signed", async () => {
    const id = await dispatch('for-v', 'true', 'v');
    push({ [`claims/${id}.1.md`]: `---\nid: ${id}\nattempt: 1\nnode: v\nclaimed: ${now()}\n---\n` }, 'a forged claim');
    const s = await status();
    expect(task(s, id)?.state).toBe('pending');
    expect(s.forged.find((x) => x.path === `claims/${id}.1.md`)?.reason).toMatch(/^forged in the name of node v: it is not signed/);
    const c = await gitbus(['claim', id, '--json'], { home: v });
    expect(c.code, c.stderr).toBe(0);
    expect(json<{ attempt: number }>(c).attempt).toBe(2);
    expect(task(await status(), id)?.claim).toEqual({ attempt: 2, node: 'v' });
    expect(task(await status(v), id)?.state).toBe('claimed');
  });

  it('a signature copied from a real claim onto a forged one does not make it count', async () => {
    const real = await dispatch('real', 'true', 'v');
    expect((await gitbus(['claim', real, '--json'], { home: v })).code).toBe(0);
    const id = await dispatch('target', 'true', 'v');
    push({
      [`claims/${id}.1.md`]: onMain(`claims/${real}.1.md`).replaceAll(real, id),
      [`signatures/claims/${id}.1.md.sig`]: onMain(`signatures/claims/${real}.1.md.sig`),
    }, 'a copied signature');
    const s = await status();
    expect(task(s, id)?.state).toBe('pending');
    expect(s.forged.find((x) => x.path === `claims/${id}.1.md`)?.reason).toMatch(/its signature does not verify \(mismatch/);
    expect(task(s, real)?.claim?.node).toBe('v');
  });

  it('an oversized signature sidecar is refused as too large, not read whole, and nothing stops', async () => {
    const id = await dispatch('big-sig', 'true', 'v');
    // 32 MiB of one byte: well under a megabyte pushed; every read of it must stop at the 16 KiB cap.
    push({ [`claims/${id}.1.md`]: `---\nid: ${id}\nattempt: 1\nnode: v\nclaimed: ${now()}\n---\n`, [`signatures/claims/${id}.1.md.sig`]: 'A'.repeat(32 * 1024 * 1024) }, 'an oversized sidecar');
    const s = await status();
    expect(task(s, id)?.state).toBe('pending');
    expect(s.forged.find((x) => x.path === `claims/${id}.1.md`)?.reason).toMatch(/it is more than 16384 bytes/);
    const lint = json<{ problems: { path: string; reason: string }[] }>(await gitbus(['lint', '--json'], { home: boss }));
    expect(lint.problems.find((p) => p.path === `signatures/claims/${id}.1.md.sig`)?.reason).toMatch(/more than 16384 bytes/);
    pushRemove([`claims/${id}.1.md`, `signatures/claims/${id}.1.md.sig`], 'the oversized sidecar removed');
    // A bus file over 64 MiB is an invalid file, read no further than its header (over the 256 KiB limit); status goes on.
    const huge = '20260101-000000-hugeaa';
    push({ [`handoffs/${huge}.md`]: 'A'.repeat(65 * 1024 * 1024) }, 'a huge handoff');
    const r = await gitbus(['status', '--json'], { home: boss });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ tasks: { id: string; state: string; problems: { reason: string }[] }[] }>(r).tasks.find((t) => t.id === huge)).toMatchObject({ state: 'invalid', problems: [expect.objectContaining({ reason: expect.stringContaining('the file is 68157440 bytes, more than the limit') })] });
    pushRemove([`handoffs/${huge}.md`], 'the huge handoff removed');
  }, 90_000);

  it("a card forged in v's name is not shown", async () => {
    push({ 'nodes/v.md': `---\nnode: v\nlabels: [gpu]\nrunners: [shell]\n---\n` }, 'a forged card');
    const s = await status();
    expect(s.forged.find((x) => x.path === 'nodes/v.md')?.reason).toMatch(/^forged in the name of node v/);
    expect(s.nodes.find((n) => n.node === 'v')?.card?.labels ?? []).not.toContain('gpu');
  });

  it('an end forged on the archive branch does not unblock the tasks that wait for it', async () => {
    const fake = '20260101-000000-forged';
    const month = '2026-01';
    const arch = join(bus.dir, 'archive-work');
    gitCli(['clone', '-q', bus.remote, arch]);
    const has = gitCli(['ls-remote', bus.remote, 'refs/heads/archive'], bus.dir).trim() !== '';
    if (has) gitCli(['checkout', '-q', 'archive'], arch);
    else gitCli(['checkout', '-q', '--orphan', 'archive'], arch);
    if (!has) gitCli(['rm', '-rqf', '.'], arch);
    mkdirSync(join(arch, month, fake), { recursive: true });
    writeFileSync(join(arch, month, fake, 'handoff.md'), `---\ntitle: never ran\n---\n`);
    writeFileSync(join(arch, month, fake, 'response.md'), `---\nid: ${fake}\nstatus: succeeded\nnode: w\nfinished: 2026-01-01T00:00:00.000Z\n---\n`);
    gitCli(['add', '-A'], arch);
    gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qm', 'a forged end'], arch);
    gitCli(['push', '-q', 'origin', 'HEAD:archive'], arch);
    const id = await dispatch('after-forged', 'true', 'w', ['--after', fake]);
    const t = json<{ tasks: { id: string; state: string; waitingOn: { id: string; state: string }[] }[] }>(await gitbus(['status', '--json'], { home: w })).tasks.find((x) => x.id === id);
    expect(t?.state).toBe('blocked');
    expect(t?.waitingOn).toEqual([{ id: fake, state: 'unknown' }]);
  });

  it('files a node wrote before it signed are signed once when its watcher starts, and then count', async () => {
    const y = await bus.addNode('y', [], ['--runner', 'shell', '--trust', fp('alice')]);
    // Pinned at join, y has nothing to sign later; made a node of the fleet before the migration to signed work.
    expect(existsSync(join(y, 'keys', 'own-files-signed.json'))).toBe(true);
    rmSync(join(y, 'trust-pin.json'));
    rmSync(join(y, 'keys', 'own-files-signed.json'));
    const id = await dispatch('for-y', 'true', 'y');
    const c = await gitbus(['claim', id, '--json'], { home: y });
    expect(c.code, c.stderr).toBe(0);
    expect(existsSync(join(y, 'keys', 'own-files-signed.json'))).toBe(false);
    const pinned = await gitbus(['trust', 'pin', '--trust', fp('alice'), '--json'], { home: y });
    expect(pinned.code, pinned.stderr).toBe(0);
    await admin(['trust', 'add', 'node', 'y', nodeKey(y)]);
    // Listed now, its unsigned claim reads as forged...
    expect((await status()).forged.find((x) => x.path === `claims/${id}.1.md`)?.reason).toMatch(/it is not signed/);
    // ...until its watcher starts and signs what it wrote before (then it goes on as usual).
    const once = startWatcher(y, ['--once'], children);
    await until('y to sign its own files', async () => existsSync(join(y, 'keys', 'own-files-signed.json')), 20_000, () => once.stderr());
    await once.exited;
    const s = await status();
    expect(s.forged.find((x) => x.path === `claims/${id}.1.md`)).toBeUndefined();
    expect(task(s, id)?.claim?.node).toBe('y');
  }, 60_000);

  it('a pin made while the node\'s watcher runs signs its earlier files at the next wake: none of its results is written again', async () => {
    const z = await bus.addNode('z', [], ['--runner', 'shell', '--trust', fp('alice')]);
    // z works before it pinned the root (a node of the fleet before the migration to signed work).
    rmSync(join(z, 'trust-pin.json'));
    rmSync(join(z, 'keys', 'own-files-signed.json'));
    const running = startWatcher(z, ['--poll', '1s'], children);
    try {
      await until('z\'s watcher to start', async () => running.events().some((e) => e.type === 'started'), 60_000, () => running.stderr());
      const id = await dispatch('for-z', 'true', 'z');
      await until('z to answer it', async () => running.events().some((e) => e.type === 'finished' && e.id === id), 60_000, () => running.stderr());
      await until('its response on main', async () => gitCli(['ls-tree', '--name-only', 'main', 'responses/'], bus.remote).includes(`${id}.md`), 30_000);
      // Pinned while the watcher runs, then listed by an admin at once.
      const pinned = await gitbus(['trust', 'pin', '--trust', fp('alice'), '--json'], { home: z });
      expect(pinned.code, pinned.stderr).toBe(0);
      await admin(['trust', 'add', 'node', 'z', nodeKey(z)]);
      // A task after the listing: z claims it at a wake that would also have reclaimed the older one, had z taken
      // its own earlier files for forgeries (it claims the oldest first).
      const next = await dispatch('for-z-listed', 'true', 'z');
      await until('z to answer the next one', async () => running.events().some((e) => e.type === 'finished' && e.id === next), 60_000, () => running.stderr());
      const s = await status();
      expect(task(s, id)?.state).toBe('succeeded');
      expect(s.forged.filter((x) => x.id === id)).toEqual([]);
      expect(gitCli(['log', '--format=%s', 'main', '--', `responses/${id}.md`], bus.remote).trim().split('\n')).toHaveLength(1);
      expect(gitCli(['ls-tree', '--name-only', 'main', 'claims/'], bus.remote)).not.toContain(`${id}.2.md`);
      expect(existsSync(join(z, 'keys', 'own-files-signed.json'))).toBe(true);
    } finally {
      running.child.kill('SIGTERM');
      await running.exited;
    }
  }, 120_000);

  it('a response forged in the name of a freshly joined node is not signed by it: the task stays unfinished', async () => {
    const f = await bus.addNode('f', [], ['--runner', 'shell', '--trust', fp('alice')]);
    await admin(['trust', 'add', 'node', 'f', nodeKey(f)]);
    const id = await dispatch('for-y-planted', 'true', 'y');
    push({ [`responses/${id}.md`]: `---\nid: ${id}\nstatus: succeeded\nnode: f\nattempt: 1\nfinished: ${now()}\n---\n## Summary\n\nPWNED\n` }, 'a response planted in f\'s name');
    expect((await status()).forged.find((x) => x.path === `responses/${id}.md`)?.reason).toMatch(/it is not signed/);
    const once = startWatcher(f, ['--once'], children);
    await once.exited;
    expect(gitCli(['ls-tree', '--name-only', '-r', 'main', 'signatures/responses/'], bus.remote)).not.toContain(`${id}.md.sig`);
    const s = await status();
    expect(task(s, id)?.state).toBe('pending');
    expect(s.forged.find((x) => x.path === `responses/${id}.md`)?.reason).toMatch(/it is not signed/);
  }, 60_000);

  it('trust pin signs only the files in its name that were on the bus when it pinned', async () => {
    const g = await bus.addNode('g', [], ['--runner', 'shell', '--trust', fp('alice')]);
    rmSync(join(g, 'trust-pin.json'));
    rmSync(join(g, 'keys', 'own-files-signed.json'));
    const pinned = await gitbus(['trust', 'pin', '--trust', fp('alice'), '--json'], { home: g });
    expect(pinned.code, pinned.stderr).toBe(0);
    await admin(['trust', 'add', 'node', 'g', nodeKey(g)]);
    const id = await dispatch('for-y-after-pin', 'true', 'y');
    push({ [`responses/${id}.md`]: `---\nid: ${id}\nstatus: succeeded\nnode: g\nattempt: 1\nfinished: ${now()}\n---\n## Summary\n\nPWNED\n` }, 'a response planted after the pin');
    const once = startWatcher(g, ['--once'], children);
    await once.exited;
    expect(existsSync(join(g, 'keys', 'own-files-signed.json'))).toBe(true);
    expect(gitCli(['ls-tree', '--name-only', '-r', 'main', 'signatures/responses/'], bus.remote)).not.toContain(`${id}.md.sig`);
    expect(task(await status(), id)?.state).toBe('pending');
  }, 60_000);

  it('on a bus that refuses unlisted nodes, an unlisted node claims nothing, and files in its name are forged', async () => {
    const x = await bus.addNode('x', [], ['--runner', 'shell', '--trust', fp('alice')]);
    await admin(['trust', 'unlisted-nodes', 'refuse']);
    // x's card is itself in the name of an unlisted node now: boss does not see x, so the dispatch needs --force.
    expect((await status()).forged.find((f) => f.path === 'nodes/x.md')?.reason).toMatch(/refuses unlisted nodes/);
    const id = await dispatch('for-x', 'true', 'x', ['--force']);
    const r = await gitbus(['claim', '--next', '--json'], { home: x });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/this node's key is not listed in trust version \d+, which refuses unlisted nodes/);
    push({ [`claims/${id}.1.md`]: `---\nid: ${id}\nattempt: 1\nnode: x\nclaimed: ${now()}\n---\n` }, 'a claim in an unlisted name');
    const s = await status();
    expect(task(s, id)?.state).toBe('pending');
    expect(s.forged.find((f) => f.path === `claims/${id}.1.md`)?.reason).toMatch(/lists no key for x and refuses unlisted nodes/);
  });

  it('a node that leaves takes its card off main with its signature, even a card that trust sets aside', async () => {
    const nodeFiles = () => gitCli(['ls-tree', '-r', '--name-only', 'main', 'nodes/', 'signatures/nodes/'], bus.remote).split('\n');
    expect(nodeFiles()).toEqual(expect.arrayContaining(['nodes/x.md', 'signatures/nodes/x.md.sig']));
    const r = await gitbus(['leave', '--json'], { home: bus.home('x') });
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ node: 'x', card: true, released: [] });
    expect(nodeFiles()).not.toContain('nodes/x.md');
    expect(nodeFiles()).not.toContain('signatures/nodes/x.md.sig');
    expect(nodeFiles()).toContain('signatures/nodes/w.md.sig');
  });
});

describe('replays: a claim removed under its holder, an archived end stripped of its signature', () => {
  type Judged = { tasks: { id: string; state: string; untrusted?: string }[] };
  const judgedOn = async (home: string, id: string) => json<Judged>(await gitbus(['status', '--json'], { home })).tasks.find((t) => t.id === id);
  const onMainUnder = (folder: string) => gitCli(['ls-tree', '-r', '--name-only', 'main', folder], bus.remote);
  const seenLog = (home: string) => readFileSync(join(home, 'trust', 'seen-ended.log'), 'utf8');
  const REMOVED = /^replayed: this node saw task \S+ claimed \(attempt 1\), and that claim was removed from the bus since/;

  it('a node that saw a claim leaves the task alone once the claim is removed: not claimed, not answered, the reason shown', async () => {
    const b = await bus.addNode('b', [], ['--runner', 'shell', '--trust', fp('alice')]);
    await admin(['trust', 'add', 'node', 'b', nodeKey(b)]);
    const ran = join(bus.dir, 'held-ran');
    const d = await gitbus(['dispatch', 'held', '--command', `touch ${ran}`, '--json', '--no-git'], { home: boss, env: NO_GIT_KEY });
    expect(d.code, d.stderr).toBe(0);
    const id = json<{ id: string }>(d).id;
    // w holds it (a signed claim); b reads the bus meanwhile and records the claim.
    const c = await gitbus(['claim', id, '--json'], { home: w });
    expect(c.code, c.stderr).toBe(0);
    expect(await judgedOn(b, id)).toMatchObject({ state: 'claimed' });
    expect(seenLog(b)).toContain(`claimed ${id} 1\n`);
    pushRemove([`claims/${id}.1.md`, `signatures/claims/${id}.1.md.sig`], "a running task's claim removed");

    const t = await judgedOn(b, id);
    expect(t?.state).toBe('pending');
    expect(t?.untrusted).toMatch(REMOVED);
    const byId = await gitbus(['claim', id, '--json'], { home: b });
    expect(byId.code).not.toBe(0);
    expect(byId.stdout + byId.stderr).toMatch(/replayed: this node saw task \S+ claimed \(attempt 1\)/);
    const next = await gitbus(['claim', '--next', '--json'], { home: b });
    expect(next.code).not.toBe(0);
    expect(next.stdout + next.stderr).toMatch(/NOTHING_CLAIMABLE[\s\S]*replayed: this node saw task/);
    // The watcher (which answers refusals addressed to it) skips it too, and writes nothing under it (--once: all
    // it did is pushed when it exits).
    const once = startWatcher(b, ['--once'], children);
    expect(await once.exited).toBe(0);
    expect(onMainUnder('claims/')).not.toContain(id);
    expect(onMainUnder('responses/')).not.toContain(id);
    expect(existsSync(ran)).toBe(false);
  }, 90_000);

  it("the holder's own watcher, its claim removed while it runs the task addressed to it, neither claims it again nor answers it; its result is set aside", async () => {
    const go = join(bus.dir, 'go-held-w');
    const runs = join(bus.dir, 'held-w-runs');
    const id = await dispatch('held-w', `echo run >> ${runs}; for i in $(seq 1 600); do [ -e ${go} ] && break; sleep 0.05; done`, 'w');
    const running = startWatcher(w, ['--poll', '1s'], children);
    try {
      await until('w to claim it', async () => running.events().some((e) => e.type === 'claimed' && e.id === id), 30_000, () => running.stderr());
      // Recorded as it was pushed, before any later read.
      expect(seenLog(w)).toContain(`claimed ${id} 1\n`);
      pushRemove([`claims/${id}.1.md`, `signatures/claims/${id}.1.md.sig`], "w's claim removed under its run");
      writeFileSync(go, '');
      const again = () => running.events().find((e) => e.type === 'claimed' && e.id === id && e.attempt !== 1);
      await until('w to pass it over', async () => again() !== undefined || running.events().some((e) => e.type === 'refused' && e.id === id), 30_000, () => `${JSON.stringify(running.events())}\n${running.stderr()}`);
      expect(again()).toBeUndefined();
      expect(running.events().find((e) => e.type === 'refused' && e.id === id)).toMatchObject({ answered: false, reason: expect.stringMatching(/replayed: this node saw task \S+ claimed \(attempt 1\)/) });
      // Its result could not be written (the task is not held by w on the bus): set aside for a person, not lost.
      await until('its result to be set aside', async () => running.events().some((e) => e.type === 'rejected' && e.id === id), 30_000, () => running.stderr());
      expect(readFileSync(runs, 'utf8')).toBe('run\n');
      expect(onMainUnder('claims/')).not.toContain(id);
      expect(onMainUnder('responses/')).not.toContain(id);
      expect(running.child.exitCode).toBeNull();
      expect((await judgedOn(w, id))?.untrusted).toMatch(REMOVED);
    } finally {
      running.child.kill('SIGTERM');
      await running.exited;
    }
  }, 120_000);

  it('a signed handoff pushed back after its task was archived is refused as replayed even when its archived response lost its signature', async () => {
    const ran = join(bus.dir, 'archived-ran');
    const id = await dispatch('archived-once', `touch ${ran}`, 'w');
    expect((await gitbus(['claim', id, '--json'], { home: w })).code).toBe(0);
    const r = await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'once', '--json'], { home: w });
    expect(r.code, r.stderr).toBe(0);
    const a = await gitbus(['archive', '--all', '--json'], { home: boss });
    expect(a.code, a.stderr).toBe(0);
    expect(onMainUnder('handoffs/')).not.toContain(id);
    // On the archive branch, as anyone with push access could: the archived response's signature goes.
    const arch = join(bus.dir, 'archive-strip');
    gitCli(['clone', '-q', '-b', 'archive', bus.remote, arch]);
    const month = gitCli(['ls-tree', '--name-only', 'HEAD'], arch).split('\n').find((m) => /^\d{4}-\d{2}$/.test(m) && existsSync(join(arch, m, id))) ?? '';
    expect(existsSync(join(arch, 'signatures', month, id, 'response.md.sig'))).toBe(true);
    gitCli(['rm', '-q', `signatures/${month}/${id}/response.md.sig`], arch);
    gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qm', 'an archived end stripped'], arch);
    gitCli(['push', '-q', 'origin', 'HEAD:archive'], arch);
    // The signed handoff back in main under its own id; w forgets it saw it end (a fresh log: a node that joined since).
    push({ [`handoffs/${id}.md`]: readFileSync(join(arch, month, id, 'handoff.md'), 'utf8'), [`signatures/handoffs/${id}.md.sig`]: readFileSync(join(arch, 'signatures', month, id, 'handoff.md.sig'), 'utf8') }, 'replay');
    rmSync(join(w, 'trust', 'seen-ended.log'), { force: true });
    const c = await gitbus(['claim', id, '--json'], { home: w });
    expect(c.code, c.stdout).not.toBe(0);
    expect(c.stdout + c.stderr).toMatch(new RegExp(`replayed: task ${id} was found on the archive branch \\(${month}/${id}/\\)`));
    expect(onMainUnder('claims/')).not.toContain(id);
    expect(existsSync(ran)).toBe(false);
  }, 90_000);
});
