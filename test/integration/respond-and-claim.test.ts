import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { claim } from '../../bus/ops/claim.js';
import { respondAndClaim } from '../../bus/ops/respond-and-claim.js';
import { gitCli } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

/**
 * A node's result and its next claim in one commit (docs/PROTOCOL.md §5, "Answering and claiming in one commit"):
 * decided from one snapshot as each would be alone; the result never waits for a claim that cannot be made.
 */
describe('answering and claiming in one commit', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;
  const ids: Record<string, string> = {};
  const subject = () => gitCli(['log', '-1', '--format=%s', 'main'], bus.remote).trim();
  const files = () => gitCli(['show', '--name-only', '--format=', 'main'], bus.remote).split('\n').filter(Boolean).sort();

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    ids['a'] = await bus.dispatch('alpha', ['a', '--command', 'true', '--priority', '9']);
    ids['b'] = await bus.dispatch('alpha', ['b', '--command', 'true', '--priority', '8']);
    ids['gpu'] = await bus.dispatch('alpha', ['needs a gpu', '--command', 'true', '--label', 'gpu', '--priority', '7']);
    ctx = await openBus(bus.home('alpha'));
  });
  afterAll(async () => {
    await ctx?.repo.close();
    await bus?.cleanup();
  });

  it('writes the result and the claim of the next task in one commit', async () => {
    const a = await claim(ctx, { next: true });
    expect(a.id).toBe(ids['a']);
    // A cost over MAX_COST_USD, which readers would count as unknown, is left out by the writer.
    const r = await respondAndClaim(ctx, [{ id: a.id, status: 'succeeded', exitCode: 0, claude: { sessionId: 's-1', costUsd: 1.7e308 } }], { target: { next: true }, limits: { max: 1 } });
    expect(r.responses.map((x) => x.ok)).toEqual([true]);
    expect(r.claims.map((c) => c.id)).toEqual([ids['b']]);
    expect(r.claims[0]?.handoff.command).toBe('true');
    expect(subject()).toBe(`gitbus: respond ${ids['a']} succeeded and claim ${ids['b']} attempt 1 by alpha`);
    expect(files()).toEqual([`claims/${ids['b']}.1.md`, `responses/${ids['a']}.md`].sort());
    const written = gitCli(['show', `main:responses/${ids['a']}.md`], bus.remote);
    expect(written).toContain('sessionId: s-1');
    expect(written).not.toContain('costUsd');
  });

  it('sends the result alone when nothing is claimable, and says nothing of why', async () => {
    // Only the gpu task is left, and this node has no gpu label.
    const r = await respondAndClaim(ctx, [{ id: ids['b'] as string, status: 'failed', exitCode: 3 }], { target: { next: true }, limits: { max: 1 } });
    expect(r.responses.map((x) => x.ok)).toEqual([true]);
    expect(r.claims).toEqual([]);
    expect(subject()).toBe(`gitbus: respond ${ids['b']} failed by alpha`);
    expect(files()).toEqual([`responses/${ids['b']}.md`]);
  });

  it('claims nothing when no result may be written: no claim goes without a result', async () => {
    const before = gitCli(['rev-parse', 'main'], bus.remote).trim();
    // b is answered already: its result is refused, and the claim that would ride with it is not made either.
    const r = await respondAndClaim(ctx, [{ id: ids['b'] as string, status: 'succeeded' }], { target: { next: true, runners: ['shell'] }, limits: { max: 1 } });
    expect(r.responses[0]?.ok).toBe(false);
    expect((r.responses[0] as { error: { code?: string } }).error.code).toBe('TASK_STATE');
    expect(r.claims).toEqual([]);
    expect(gitCli(['rev-parse', 'main'], bus.remote).trim()).toBe(before);
  });

  it('leaves out the tasks the ranking does not hand it yet, and sends the result alone', async () => {
    const c = await bus.dispatch('alpha', ['c', '--command', 'true']);
    const d = await bus.dispatch('alpha', ['d', '--command', 'true']);
    const held = await claim(ctx, { id: c });
    const r = await respondAndClaim(ctx, [{ id: held.id, status: 'succeeded' }], { target: { next: true }, limits: { max: 1, ready: async () => [] } });
    expect(r.claims).toEqual([]);
    expect(subject()).toBe(`gitbus: respond ${c} succeeded by alpha`);
    // d is still pending for whoever ranks first.
    expect((await claim(ctx, { next: true })).id).toBe(d);
  });

  it('keeps the claim riding with the result however many pushes are refused: on a busy main the claim costs no push of its own', async () => {
    const e = await bus.dispatch('alpha', ['e', '--command', 'true']);
    const f = await bus.dispatch('alpha', ['f', '--command', 'true']);
    const held = await claim(ctx, { id: e });
    let moved = 0;
    const r = await respondAndClaim(ctx, [{ id: held.id, status: 'succeeded' }], {
      target: { next: true },
      limits: { max: 1 },
      // Just before each of the first nine pushes another dispatch lands on main, so each is refused (past the eight
      // rounds a claim rode for until session 66).
      beforeWrite: async () => {
        if (moved < 9) await bus.dispatch('alpha', [`lands first ${++moved}`, '--command', 'true']);
      },
    });
    expect(moved).toBe(9);
    expect(r.attempts).toBe(10);
    expect(r.claims.map((c) => c.id)).toEqual([f]);
    expect(subject()).toBe(`gitbus: respond ${e} succeeded and claim ${f} attempt 1 by alpha`);
  });

  it('decides its claim anew when another node took the task it kept: the result still carries a claim', async () => {
    await bus.addNode('beta');
    const beta = await openBus(bus.home('beta'));
    try {
      const g = await bus.dispatch('alpha', ['g', '--command', 'true']);
      // The queue's head, so that round 1 picks it.
      const h = await bus.dispatch('alpha', ['h', '--command', 'true', '--priority', '9']);
      const held = await claim(ctx, { id: g });
      const picked: string[] = [];
      let round = 0;
      let landed = '';
      const r = await respondAndClaim(ctx, [{ id: held.id, status: 'succeeded' }], {
        target: { next: true },
        limits: { max: 1 },
        // Round 1's push is refused by a dispatch landing first; round 2's by beta claiming what alpha picked.
        beforeWrite: async () => {
          round++;
          if (round === 1) landed = await bus.dispatch('alpha', ['lands before round 1', '--command', 'true', '--priority', '8']);
          if (round === 2) picked.push((await claim(beta, { id: h })).id);
        },
      });
      expect(picked).toEqual([h]);
      // Round 3 finds its kept pick taken, decides from the whole queue again, and takes the next task there.
      expect(r.attempts).toBe(3);
      expect(r.claims.map((c) => c.id)).toEqual([landed]);
      expect(subject()).toBe(`gitbus: respond ${g} succeeded and claim ${landed} attempt 1 by alpha`);
    } finally {
      await beta.repo.close();
    }
  });
});
