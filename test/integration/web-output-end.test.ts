import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { OutputFollowers, type OutputEvent } from '../../web/output-follow.js';
import { changeArchivedFile } from '../helpers/archive-branch.js';
import { makeBus } from '../helpers/bus.js';
import { gitbus } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

/**
 * The web view's output stream of a task (web/output-follow.ts) ends when the task can change no more: when it ended,
 * and when it was archived whatever its state, as `gitbus logs --follow` ends. An archived task whose response a
 * person rewrote into what does not parse is `invalid` there for good: its stream was read each second for as long
 * as a page held it open. Real git, a real archive branch, the follower in this process.
 */
describe("the web view's output stream of an archived task", () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;
  let followers: OutputFollowers;
  let id = '';

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    const home = bus.home('alpha');
    id = await bus.dispatch('alpha', ['archived then damaged', '--runner', 'manual']);
    expect((await gitbus(['claim', id], { home })).code).toBe(0);
    expect((await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'done'], { home })).code).toBe(0);
    const a = await gitbus(['archive', '--all'], { home });
    expect(a.code, a.stderr).toBe(0);
    changeArchivedFile(bus.remote, join(bus.dir, 'archive-edit'), id, 'response.md', (f) => writeFileSync(f, '---\ngarbage: [\n---\n'));
    ctx = await openBus(home);
    followers = new OutputFollowers(ctx, 50);
  }, 120_000);
  afterAll(async () => {
    followers?.stop();
    await ctx?.repo.close();
    await bus?.cleanup();
  });

  it('ends with the state it has (invalid), instead of being read on each interval for ever', async () => {
    const seen: OutputEvent[] = [];
    const stop = followers.follow(id, (e) => seen.push(e));
    try {
      await until('the end', () => seen.some((e) => e.type === 'end'), 20_000, () => JSON.stringify(seen));
      expect(seen.find((e) => e.type === 'end')).toEqual({ type: 'end', state: 'invalid' });
      expect(seen.some((e) => e.type === 'error')).toBe(false);
    } finally {
      stop();
    }
  });
});
