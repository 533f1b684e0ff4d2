import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { readDispatched } from '../../bus/dispatched-ledger.js';
import { archive } from '../../bus/ops/archive.js';
import { collect } from '../../claude/collect.js';
import { runHook } from '../../claude/hook.js';
import { readLedger, recordDispatch, stillNews, updateLedger } from '../../claude/session-ledger.js';
import { makeBus } from '../helpers/bus.js';
import { deliverRefused, refusedRun } from '../helpers/refused-push.js';

/**
 * A task reported "not pushed yet" leaves a mark that waits for its push (a session ledger's `awaitsPush`, a note of
 * `<home>/dispatched.jsonl`): its delivery is told once even when the task was archived before anyone looked again
 * (deliveries move with their task), and the mark ends when the task is archived without one (no delivery is written
 * once a task left main) or after a week, so that no ledger keeps paying for a push that never lands.
 */
describe('a push awaited past its task\'s archiving', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;
  let home: string;
  const head = 'c'.repeat(40);

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
  const archiveAll = async (...ids: string[]) => expect((await archive(ctx, { all: true })).archived).toEqual(expect.arrayContaining(ids));
  const entry = (session: string, id: string) => readLedger(home, session)?.tasks.find((t) => t.id === id);

  it('collect --node reports a delivery archived with its task between two collects, once', async () => {
    const id = await refused('delivered, then archived');
    expect((await collect(ctx, {})).ended.map((f) => f.id)).toEqual([id]);
    await deliver(id);
    await archiveAll(id);
    const r = await collect(ctx, {});
    expect(r.ended).toEqual([]);
    expect(r.landed).toEqual([expect.objectContaining({ id, pushed: true, delivered: `deliveries/${id}.1.md`, archived: expect.stringMatching(/^\d{4}-\d{2}$/) })]);
    expect((await collect(ctx, {})).landed).toEqual([]);
    expect(readDispatched(home).map((t) => t.id)).not.toContain(id);
  });

  it('collect --node lets go of a task archived before its push landed: no delivery can come after', async () => {
    const id = await refused('archived unpushed');
    expect((await collect(ctx, {})).ended.map((f) => f.id)).toEqual([id]);
    expect(readDispatched(home).map((t) => t.id), 'kept while its push may land').toContain(id);
    await archiveAll(id);
    expect(await collect(ctx, {})).toMatchObject({ ended: [], landed: [] });
    expect(readDispatched(home).map((t) => t.id)).not.toContain(id);
  });

  it('a session\'s hooks tell of a delivery archived with its task, once', async () => {
    const SESSION = '2e3f4a5b-6c7d-4e8f-9a0b-b1c2d3e4f5a6';
    const id = await refused('told by a hook, delivered, archived');
    recordDispatch(home, SESSION, [{ id, title: 'told by a hook, delivered, archived' }], home);
    expect(String((await runHook('user-prompt-submit', { session_id: SESSION }, home)).output?.['systemMessage'])).toContain(`${id} succeeded`);
    await deliver(id);
    await archiveAll(id);
    const landed = await runHook('user-prompt-submit', { session_id: SESSION }, home);
    expect(String(landed.output?.['systemMessage'])).toContain(`${id} branch pushed now`);
    expect(entry(SESSION, id)).toMatchObject({ toldDelivered: `deliveries/${id}.1.md` });
    expect((await runHook('user-prompt-submit', { session_id: SESSION }, home)).output).toBeNull();
  });

  it('a session stops waiting for the push of a task archived without a delivery (hooks and collect)', async () => {
    const SESSION = '3f4a5b6c-7d8e-4f9a-8b1c-c2d3e4f5a6b7';
    const byHook = await refused('hook: archived unpushed');
    const byCollect = await refused('collect: archived unpushed');
    recordDispatch(home, SESSION, [{ id: byHook, title: 'hook: archived unpushed' }, { id: byCollect, title: 'collect: archived unpushed' }], home);
    expect((await collect(ctx, { session: SESSION })).ended.map((f) => f.id).sort()).toEqual([byHook, byCollect].sort());
    expect(entry(SESSION, byHook)).toMatchObject({ awaitsPush: true });
    await archiveAll(byHook, byCollect);
    expect((await runHook('user-prompt-submit', { session_id: SESSION }, home)).output).toBeNull();
    expect(entry(SESSION, byHook)?.awaitsPush, 'the hook asked the archive once and let go').toBeUndefined();
    expect(entry(SESSION, byCollect)?.awaitsPush, 'the hook settles every archived one it looked up').toBeUndefined();
    expect(await collect(ctx, { session: SESSION })).toMatchObject({ ended: [], landed: [] });
    expect(readLedger(home, SESSION)?.tasks.some((t) => stillNews(t))).toBe(false);
  });

  it('a session\'s collect lets go of a task archived without a delivery', async () => {
    const SESSION = '4a5b6c7d-8e9f-4a0b-9c2d-d3e4f5a6b7c8';
    const id = await refused('collect alone: archived unpushed');
    recordDispatch(home, SESSION, [{ id, title: 'collect alone: archived unpushed' }], home);
    expect((await collect(ctx, { session: SESSION })).ended.map((f) => f.id)).toEqual([id]);
    await archiveAll(id);
    expect(await collect(ctx, { session: SESSION })).toMatchObject({ ended: [], landed: [] });
    expect(entry(SESSION, id)?.awaitsPush).toBeUndefined();
  });

  it('a session waits a week at most for a push: past that its ledger costs its hooks nothing', async () => {
    const SESSION = '5b6c7d8e-9f0a-4b1c-8d3e-e4f5a6b7c8d9';
    const id = await refused('a push that takes too long');
    recordDispatch(home, SESSION, [{ id, title: 'a push that takes too long' }], home);
    expect((await collect(ctx, { session: SESSION })).ended.map((f) => f.id)).toEqual([id]);
    const told = entry(SESSION, id);
    expect(told).toMatchObject({ awaitsPush: true, toldAt: expect.any(String) });
    expect(stillNews(told!)).toBe(true);
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000).toISOString();
    updateLedger(home, SESSION, (l) => ({ ...l, tasks: l.tasks.map((t) => (t.id === id ? { ...t, toldAt: eightDaysAgo } : t)) }));
    expect(stillNews(entry(SESSION, id)!)).toBe(false);
    await deliver(id);
    expect((await runHook('user-prompt-submit', { session_id: SESSION }, home)).output).toBeNull();
    expect(await collect(ctx, { session: SESSION })).toMatchObject({ ended: [], landed: [] });
  });
});
