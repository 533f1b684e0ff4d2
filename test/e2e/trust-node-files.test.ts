import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { showInProcess } from '../helpers/in-process.js';
import { FINAL, now, task, trustFleet, type FleetBus, type Forged, type Status } from '../helpers/trust-fleet.js';

/**
 * Files a node writes in its own name, under trust (issue 11 point 3, second half), with real ssh-keygen keys and
 * nodes as processes (the fleet: test/helpers/trust-fleet.ts). Admin alice; nodes w and v pinned the root and their
 * keys are listed in it. Someone with push access (plain git) forges a response for the task w is running, a claim
 * in v's name, a claim carrying a signature copied from a real one, one with an oversized signature, a blob over the
 * object cap (as a signed claim, and as the bus's copy of allowed_signers), v's card and an
 * end on the archive branch: each is ignored by the nodes and reported by status, show and lint, and the real work
 * goes on — w's real result replaces the forged one, v's claim goes past the forged attempt. Ends, cancels and claims
 * removed are in trust-replay.test.ts; nodes that pin late, join, are unlisted or leave in trust-node-lifecycle.test.ts.
 */
const fleet = trustFleet(['w', 'v']);
const { children, status, dispatch, push, pushRemove, onMain } = fleet;
let bus: FleetBus;
let boss: string;
let w: string;
let v: string;
let watcher: WatcherProcess;

beforeAll(async () => {
  ({ bus, boss } = await fleet.setUp());
  w = bus.home('w');
  v = bus.home('v');
}, 60_000);

afterAll(fleet.tearDown);

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
  }, 60_000);

  it("a claim forged in v's name does not hold the task; v's own claim goes past it, signed", async () => {
    const id = await dispatch('for-v', 'true', 'v');
    push({ [`claims/${id}.1.md`]: `---\nid: ${id}\nattempt: 1\nnode: v\nclaimed: ${now()}\n---\n` }, 'a forged claim');
    const s = await status();
    expect(task(s, id)?.state).toBe('pending');
    expect(s.forged.find((x) => x.path === `claims/${id}.1.md`)?.reason).toMatch(/^forged in the name of node v: it is not signed/);
    expect((await gitbus(['verify', id], { home: boss })).stdout).toContain(`claims/${id}.1.md: unsigned\n      trust: does not count here: forged in the name of node v: it is not signed`);
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
    // verify lists the forged claim, which the node takes out of its view, with why it does not count here; the real
    // one counts, signed by v's key.
    type Verified = { files: { path: string; status: string; verdict: { trusted: boolean; reason: string } | null }[] };
    const forged = json<Verified>(await gitbus(['verify', id, '--json'], { home: boss })).files.find((f) => f.path === `claims/${id}.1.md`);
    expect(forged).toMatchObject({ status: 'invalid', verdict: { trusted: false, reason: expect.stringMatching(/^forged in the name of node v: its signature does not verify \(mismatch/) } });
    expect(json<Verified>(await gitbus(['verify', real, '--json'], { home: boss })).files.find((f) => f.path === `claims/${real}.1.md`)?.verdict).toEqual({ trusted: true, reason: "counts: signed by node v's key" });
    expect((await gitbus(['verify', id], { home: boss })).stdout).toMatch(new RegExp(`claims/${id}\\.1\\.md: INVALID[\\s\\S]*trust: does not count here: forged in the name of node v`));
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

  it('a blob over the object cap as the bus\'s copy of allowed_signers, or as a claim with a sidecar beside it, stops nothing: each is named too large', async () => {
    const held = await dispatch('huge-claim', 'true', 'v');
    const next = await dispatch('after-huge', 'true', 'v');
    const copy = onMain('trust/allowed_signers');
    // One 65 MiB blob at both paths: the copy is never trusted, and the claim does not parse whoever signed it.
    const huge = 'A'.repeat(65 * 1024 * 1024);
    push({ 'trust/allowed_signers': huge, [`claims/${held}.1.md`]: huge, [`signatures/claims/${held}.1.md.sig`]: 'junk\n' }, 'blobs over the object cap');
    const r = await gitbus(['status', '--json'], { home: v });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(task(json<Status>(r), held)?.claim).toEqual({ attempt: 1, node: null });
    const lint = await gitbus(['lint', '--json'], { home: v });
    const problems = json<{ problems: { path: string; reason: string }[] }>(lint).problems;
    expect(problems.find((p) => p.path === 'trust/allowed_signers')?.reason).toMatch(/^larger than 262144 bytes/);
    expect(problems.find((p) => p.path === `claims/${held}.1.md`)?.reason).toMatch(/more than the limit/);
    const c = await gitbus(['claim', next, '--json'], { home: v });
    expect(c.code, c.stderr).toBe(0);
    pushRemove([`claims/${held}.1.md`, `signatures/claims/${held}.1.md.sig`], 'the huge claim removed');
    push({ 'trust/allowed_signers': copy }, 'the copy restored');
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
});
