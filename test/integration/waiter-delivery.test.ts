import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { publishDelivery } from '../../bus/ops/delivery.js';
import { collect } from '../../claude/collect.js';
import { runHook } from '../../claude/hook.js';
import { readLedger, recordDispatch } from '../../claude/session-ledger.js';
import { waitForNews } from '../../claude/waiter.js';
import { makeBus } from '../helpers/bus.js';
import { claimInProcess, respondInProcess } from '../helpers/in-process.js';
import { bounded, until } from '../helpers/wait.js';

/**
 * The background Stop hook (`gitbus hook claude wait`) of a session told that a task's branch had not reached the
 * project remote: it stays to wait for that push and wakes the session when its delivery lands (docs/PROTOCOL.md
 * §3a), once, as collect and the other hooks say it. The delivery is written by the worker into the bus remote, so
 * the laptop's clone has it only once the waiter itself syncs: the waiter cannot have seen it at its first look.
 */
describe('the background waiter and a push that lands later', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let laptop: BusContext;
  let worker: BusContext;
  const head = 'd'.repeat(40);
  const SESSION = '6c7d8e9f-0a1b-4c2d-9e4f-f5a6b7c8d9e0';

  beforeAll(async () => {
    bus = await makeBus({ node: 'laptop' });
    worker = await openBus(await bus.addNode('worker'));
    laptop = await openBus(bus.home('laptop'));
  });
  afterAll(async () => {
    await laptop?.repo.close();
    await worker?.repo.close();
    await bus?.cleanup();
  });

  it('wakes the session when the push lands, tells it once, and then has nothing left to wait for', async () => {
    const home = bus.home('laptop');
    const id = await bus.dispatch('laptop', ['push refused at first', '--to', 'worker']);
    recordDispatch(home, SESSION, [{ id, title: 'push refused at first' }], home);
    await claimInProcess(bus.home('worker'), id);
    await respondInProcess(bus.home('worker'), id, { status: 'succeeded', project: { repo: '/srv/app.git', branch: `feature/${id}`, baseCommit: 'b'.repeat(40), headCommit: head, pushed: false, pushError: 'pre-receive hook declined' } });
    expect((await collect(laptop, { session: SESSION })).ended.map((f) => f.id)).toEqual([id]);
    expect(readLedger(home, SESSION)?.tasks[0]).toMatchObject({ told: 'succeeded', awaitsPush: true });

    const waiting = waitForNews({ session_id: SESSION }, home, { attended: true, maxMs: 120_000, pollMs: 1_000 });
    let left = false;
    void waiting.finally(() => (left = true));
    await until('the waiter to take its mark', () => left || existsSync(join(home, 'claude/sessions', `${SESSION}.waiter`)), 20_000);
    expect(left, 'the waiter stays for the push').toBe(false);
    expect(await publishDelivery(worker, { id, attempt: 1, branch: `feature/${id}`, headCommit: head })).toMatchObject({ outcome: 'written' });
    const woke = await bounded(waiting, 60_000, 'the waiter to wake for the delivery');
    expect(woke.exitCode).toBe(2);
    expect(woke.stderr).toContain(`${id} "push refused at first": its branch feature/${id} is on the project remote now`);
    expect(woke.stderr).not.toContain('ended since you last heard');
    expect(readLedger(home, SESSION)?.tasks[0]).toMatchObject({ toldDelivered: `deliveries/${id}.1.md` });
    expect(readLedger(home, SESSION)?.tasks[0]?.awaitsPush).toBeUndefined();

    // Told once: neither the next hook nor collect says it again, and a new waiter has nothing to wait for.
    expect((await runHook('user-prompt-submit', { session_id: SESSION }, home)).output).toBeNull();
    expect((await collect(laptop, { session: SESSION })).landed).toEqual([]);
    expect(await bounded(waitForNews({ session_id: SESSION }, home, { attended: true, maxMs: 120_000, pollMs: 1_000 }), 10_000, 'an idle waiter to leave')).toEqual({ output: null, exitCode: 0 });
  });
});
