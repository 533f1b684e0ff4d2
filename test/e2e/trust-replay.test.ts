import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { NO_GIT_KEY } from '../helpers/ssh-keys.js';
import { task, trustFleet, type FleetBus } from '../helpers/trust-fleet.js';

/**
 * Replays under trust (docs/PROTOCOL.md §12, "Replay"): someone with push access (plain git) removes a task's end,
 * its cancel or its claim from main, or strips an archived end of its signature and pushes the handoff back. A node
 * that saw the task end, cancelled or claimed (and, with the archive, any node) does not take it for new work. The
 * fleet (test/helpers/trust-fleet.ts): admin alice, node w pinned to her root and listed in it.
 */
const fleet = trustFleet(['w']);
const { children, fp, nodeKey, admin, status, dispatch, push, pushRemove, onMain } = fleet;
let bus: FleetBus;
let boss: string;
let w: string;

beforeAll(async () => {
  ({ bus, boss } = await fleet.setUp());
  w = bus.home('w');
}, 60_000);

afterAll(fleet.tearDown);

describe('replays: an end or a cancel removed from main', () => {
  it('deleting the claim and response of a task that ended does not make a node that saw it end run it again', async () => {
    // A task w ran to its end (signed claim and response), and a read of the bus since: w saw it end.
    const id = await dispatch('ends', 'true', 'w');
    expect((await gitbus(['claim', id, '--json'], { home: w })).code).toBe(0);
    const done = await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'done', '--json'], { home: w });
    expect(done.code, done.stderr).toBe(0);
    expect(task(await status(w), id)?.state).toBe('succeeded');
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
