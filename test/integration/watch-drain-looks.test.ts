import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import type { Transport } from '../../bus/transport/transport.js';
import { WATCHER_ACTOR } from '../../watcher/restart-recovery.js';
import { watch } from '../../watcher/watch.js';
import type { WatchEvent } from '../../watcher/watch-events.js';
import { makeBus } from '../helpers/bus.js';

/**
 * A busy watcher's drain (watcher/claims.ts) looks at the remote after a run only when a slot is free: the claim
 * that rides with the run's result (bus/ops/respond-and-claim.ts) has usually taken it again by then, and a look
 * that can fill nothing cost a whole snapshot a task (issue 14: on a bus pushed to many times a second, the look
 * fetches and reads every other node's pushes). Counted as the transport's ref listings, each look's first step.
 */
const TASKS = 40;
let bus: Awaited<ReturnType<typeof makeBus>>;
let home: string;
let ctx: BusContext;
let listings = 0;

/** The transport as it is, its listings counted. */
function counted(t: Transport): Transport {
  return new Proxy(t, {
    get(target, prop) {
      if (prop === 'listRefs') {
        return () => {
          listings++;
          return target.listRefs();
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

beforeAll(async () => {
  bus = await makeBus({ node: 'w', initArgs: ['--runner', 'shell'] });
  home = bus.home('w');
  for (let i = 0; i < TASKS; i++) await bus.dispatch('w', [`task ${i}`, '--to', 'w', '--command', 'true']);
  ctx = await openBus(home, WATCHER_ACTOR, counted);
}, 120_000);

afterAll(async () => {
  await ctx?.repo.close();
  await bus?.cleanup();
});

describe('a busy watcher', () => {
  it('does not look at the remote after a run whose slot the claim riding with its result took again', async () => {
    const stop = new AbortController();
    const events: WatchEvent[] = [];
    let finished = 0;
    const done = watch(ctx, {
      once: false,
      stop: stop.signal,
      watchFiles: false,
      pollMs: 3600_000,
      heartbeatMs: 3600_000,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'finished' && ++finished === TASKS) stop.abort();
      },
    });
    const deadline = setTimeout(() => stop.abort(), 90_000);
    const started = performance.now();
    try {
      await done;
    } finally {
      clearTimeout(deadline);
    }
    const seconds = Math.ceil((performance.now() - started) / 1000);
    expect(events.filter((e) => e.type === 'error'), JSON.stringify(events.filter((e) => e.type === 'error'))).toEqual([]);
    expect(finished).toBe(TASKS);
    // One listing a task for the result and the next claim riding with it, plus about ten at the start (recovery,
    // the node card, the first beat and wake) and the housekeeping while runs go (a round a second, and now and then
    // one owed to a wake during a round); a look after every run as well made it two a task.
    expect(listings, `${listings} listings for ${TASKS} tasks in ${seconds} s`).toBeLessThanOrEqual(TASKS + 12 + 1.5 * seconds);
  }, 120_000);
});
