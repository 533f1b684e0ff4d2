import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { collect } from '../../claude/collect.js';
import { runHook } from '../../claude/hook.js';
import { readLedger, recordDispatch } from '../../claude/session-ledger.js';
import { makeBus } from '../helpers/bus.js';
import { deliverRefused, refusedRun } from '../helpers/refused-push.js';

/**
 * A project task reported "not pushed yet" whose branch the project remote took later (a delivery, docs/PROTOCOL.md
 * §3a "A push that lands later"): `gitbus collect` (this node's mark and a session's ledger) and the session's
 * hooks say so once, keyed by the delivery's path, where they used to stay silent since the task had been reported.
 */
describe('a push that landed after its task was collected', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;
  let home: string;
  const head = 'a'.repeat(40);
  const SESSION = '0c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5';

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    home = bus.home('alpha');
    ctx = await openBus(home);
  });
  afterAll(async () => {
    await ctx?.repo.close();
    await bus?.cleanup();
  });

  const refused = (title: string): Promise<string> => refusedRun(bus, 'alpha', title, head);
  const deliver = (id: string): Promise<void> => deliverRefused(ctx, id, head);

  it('collect --node reports it once, after the task itself', async () => {
    const id = await refused('pushes later');
    const first = await collect(ctx, {});
    expect(first.ended).toEqual([expect.objectContaining({ id, pushed: false, notPushed: expect.stringContaining('not pushed yet') })]);
    expect(first.landed).toEqual([]);
    await deliver(id);
    const second = await collect(ctx, {});
    expect(second.ended).toEqual([]);
    expect(second.landed).toEqual([expect.objectContaining({ id, pushed: true, delivered: `deliveries/${id}.1.md` })]);
    expect((await collect(ctx, {})).landed).toEqual([]);
  });

  it('a session\'s collect tells of a task not pushed yet once, not again at each collect while its push waits', async () => {
    const SOLO = '1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6';
    const id = await refused('waits for its push');
    recordDispatch(home, SOLO, [{ id, title: 'waits for its push' }], home);
    expect((await collect(ctx, { session: SOLO })).ended).toEqual([expect.objectContaining({ id, pushed: false })]);
    expect(readLedger(home, SOLO)?.tasks.find((t) => t.id === id)).toMatchObject({ told: 'succeeded', awaitsPush: true });
    // Told already: neither ended nor landed, however often it is asked, until the delivery comes.
    for (let i = 0; i < 2; i++) expect(await collect(ctx, { session: SOLO })).toMatchObject({ ended: [], landed: [] });
    await deliver(id);
    expect((await collect(ctx, { session: SOLO })).landed.map((f) => f.id)).toEqual([id]);
  });

  it('a session hears it once, from its hooks or from collect', async () => {
    const byHook = await refused('the hook tells');
    const byCollect = await refused('collect tells');
    recordDispatch(home, SESSION, [{ id: byHook, title: 'the hook tells' }, { id: byCollect, title: 'collect tells' }], home);
    const told = await runHook('user-prompt-submit', { session_id: SESSION }, home);
    expect(String(told.output?.['systemMessage'])).toContain(`${byHook} succeeded`);
    expect(readLedger(home, SESSION)?.tasks.find((t) => t.id === byHook)).toMatchObject({ told: 'succeeded', awaitsPush: true });
    // Nothing new: silent, but the ledger still looks for the pushes.
    expect((await runHook('user-prompt-submit', { session_id: SESSION }, home)).output).toBeNull();

    await deliver(byHook);
    const landed = await runHook('user-prompt-submit', { session_id: SESSION }, home);
    expect(String(landed.output?.['systemMessage'])).toContain(`${byHook} branch pushed now`);
    const context = JSON.stringify(landed.output?.['hookSpecificOutput']);
    expect(context).toContain(`its branch feature/${byHook} is on the project remote now`);
    expect(context).not.toContain(byCollect);
    expect((await runHook('user-prompt-submit', { session_id: SESSION }, home)).output).toBeNull();

    await deliver(byCollect);
    const r = await collect(ctx, { session: SESSION });
    expect(r.ended).toEqual([]);
    expect(r.landed.map((f) => f.id)).toEqual([byCollect]);
    expect((await collect(ctx, { session: SESSION })).landed).toEqual([]);
    expect(readLedger(home, SESSION)?.tasks.every((t) => t.awaitsPush === undefined)).toBe(true);
    expect((await runHook('user-prompt-submit', { session_id: SESSION }, home)).output).toBeNull();
  });
});
