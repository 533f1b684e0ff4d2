import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { gitCli } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { pushFiles } from '../helpers/push-access.js';
import { openBus } from '../../bus/context.js';
import { claim, claimBatch, type LostRace } from '../../bus/ops/claim.js';
import { currentSnapshot } from '../../bus/ops/query.js';

/**
 * Several watchers on one remote (issue 14, "no herd"): woken by the same change, they spread their claim phases
 * and pick different tasks, yet every task is claimed exactly once (the compare-and-swap rules are unchanged),
 * and the races they do lose are reported.
 */
let bus: Awaited<ReturnType<typeof makeBus>>;
const children: ChildProcess[] = [];
/** The watchers the first test starts; the second reuses them idle. */
const startedWatchers: WatcherProcess[] = [];
const WATCHERS = 4;
const TASKS = 16;

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  for (let i = 0; i < WATCHERS; i++) await bus.addNode(`w${i}`, [], ['--runner', 'shell']);
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

describe('watchers on one remote', () => {
  it('take a pool of tasks with each claimed exactly once, and report their lost races', async () => {
    const watchers: WatcherProcess[] = [];
    for (let i = 0; i < WATCHERS; i++) watchers.push(startWatcher(bus.home(`w${i}`), ['--poll', '2s'], children));
    await until('every watcher to start', () => watchers.every((w) => w.events().some((e) => e.type === 'started')), 30_000, () => watchers.map((w) => w.stderr()).join('\n'));
    startedWatchers.push(...watchers);
    const person = join(bus.dir, 'person');
    gitCli(['clone', '-q', bus.remote, person]);
    const ids = Array.from({ length: TASKS }, (_, i) => `herd-${String(i).padStart(2, '0')}`);
    // One commit wakes every watcher at once: the herd.
    pushFiles(person, Object.fromEntries(ids.map((id) => [`handoffs/${id}.md`, `---\ntitle: ${id}\ncommand: "sleep 0.2"\n---\n`])), 'a pool');
    const responses = () => gitCli(['ls-tree', '--name-only', 'main', 'responses/'], bus.remote).split('\n').filter(Boolean);
    await until('every task to be answered', () => responses().length === TASKS, 60_000, () => watchers.map((w) => w.stderr()).join('\n'));

    // Exactly once: one claim file per task on main, and one `claimed` event per task across all watchers.
    const claims = gitCli(['ls-tree', '--name-only', 'main', 'claims/'], bus.remote).split('\n').filter(Boolean).sort();
    expect(claims).toEqual(ids.map((id) => `claims/${id}.1.md`));
    const claimed = watchers.flatMap((w) => w.events().filter((e) => e.type === 'claimed').map((e) => e.id));
    expect(claimed.sort()).toEqual(ids);
    // The work was shared, not taken by whoever won the first race each time.
    expect(watchers.filter((w) => w.events().some((e) => e.type === 'claimed')).length).toBeGreaterThan(1);
    // Lost races are reported as events the benchmark sums; each says how it was lost.
    const lost = watchers.flatMap((w) => w.events().filter((e) => e.type === 'lost-race'));
    for (const e of lost) expect(['rejected', 'taken']).toContain(e['why']);
    expect(lost.length).toBeLessThan(TASKS * WATCHERS);
  }, 90_000);

  it('claims tasks dispatched at once in ranked turns, losing at most two races per three tasks', async () => {
    // The watchers of the test above, idle now. Ranked claims (bus/model/claim-rank.ts): for each task one watcher
    // claims at once and the others wait their rank's steps, by which time the claim is on the remote. The tasks
    // run a second, so that no response is pushed while the round's claims are on their way: what races is claims.
    const watchers = Array.from({ length: WATCHERS }, (_, i) => startedWatchers[i] as WatcherProcess);
    // The pool's last results are on main a moment before their watchers report them delivered: counted from
    // here, a late `delivered` of the pool would make a round look unsettled.
    const all = (w: WatcherProcess, type: string) => w.events().filter((e) => e.type === type).length;
    await until('the pool to be reported delivered', () => watchers.every((w) => all(w, 'claimed') === all(w, 'delivered')), 10_000, () => watchers.map((w) => w.stderr()).join('\n'));
    const before = watchers.map((w) => w.events().length);
    const since = (w: WatcherProcess, i: number) => w.events().slice(before[i]);
    const person = join(bus.dir, 'person');
    const rounds = 3;
    for (let r = 0; r < rounds; r++) {
      const ids = Array.from({ length: WATCHERS }, (_, i) => `ranked-${r}-${i}`);
      pushFiles(person, Object.fromEntries(ids.map((id) => [`handoffs/${id}.md`, `---\ntitle: ${id}\ncommand: "sleep 1"\n---\n`])), `round ${r}`);
      const answered = () => new Set(gitCli(['ls-tree', '--name-only', 'main', 'responses/'], bus.remote).split('\n').filter((f) => f.startsWith('responses/ranked-')));
      await until(`round ${r} to be answered`, () => answered().size === WATCHERS * (r + 1), 30_000, () => watchers.map((w) => w.stderr()).join('\n'));
      // Idle again before the next round: every watcher has delivered what it claimed, so each starts the round alike.
      const count = (w: WatcherProcess, i: number, type: string) => since(w, i).filter((e) => e.type === type).length;
      await until(`round ${r} to settle`, () => watchers.every((w, i) => count(w, i, 'claimed') === count(w, i, 'delivered')), 10_000);
    }
    const claimed = watchers.flatMap((w, i) => since(w, i).filter((e) => e.type === 'claimed').map((e) => e.id));
    expect(claimed.length).toBe(WATCHERS * rounds);
    expect(new Set(claimed).size).toBe(WATCHERS * rounds);
    const lost = watchers.reduce((n, w, i) => n + since(w, i).filter((e) => e.type === 'lost-race').length, 0);
    // Unranked (every watcher claims on its wake) this lost 10-18 races for 12 tasks on a loaded 2-core machine;
    // ranked 3-4 on a quiet one, up to 8 with the machine's two cores busy with other tests: one is lost only when
    // a claim takes longer than the step the next claimer waits, which a sudden load makes likelier.
    expect(lost).toBeLessThanOrEqual((WATCHERS * rounds * 2) / 3);
  }, 90_000);

  it('reports a claim that finds its pick taken on reading the remote again as a lost race (taken)', async () => {
    // Stop the watchers first: this race is staged in-process between w0's stale look and boss's claim.
    for (const c of children) c.kill('SIGTERM');
    await until('the watchers to stop', () => children.every((c) => c.exitCode !== null || c.signalCode !== null), 30_000);
    pushFiles(join(bus.dir, 'person'), { 'handoffs/taken-one.md': '---\ntitle: taken one\ncommand: "true"\n---\n' }, 'one task');
    const w0 = await openBus(bus.home('w0'), 'watcher');
    const boss = await openBus(bus.home('boss'));
    try {
      const stale = await currentSnapshot(w0);
      await claim(boss, { id: 'taken-one' });
      const lost: LostRace[] = [];
      const r = claimBatch(w0, { next: true, runners: ['shell'] }, { max: 1, spread: true }, undefined, { peek: stale, onLostRace: (why) => lost.push(why) });
      await expect(r).rejects.toMatchObject({ code: 'NOTHING_CLAIMABLE' });
      expect(lost).toEqual(['taken']);
    } finally {
      await w0.repo.close();
      await boss.repo.close();
    }
  }, 60_000);
});
