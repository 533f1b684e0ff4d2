import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBus, type BusContext } from '../../bus/context.js';
import { claim } from '../../bus/ops/claim.js';
import { LOG_TAIL_BYTES, taskOutput } from '../../bus/ops/task-output.js';
import { OutputFollowers, type OutputEvent } from '../../web/output-follow.js';
import { followOn, OutputFollower } from '../../watcher/output-follow.js';
import { gitbus } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';

/**
 * The follower of a task's output (watcher/output-follow.ts) on this node's own log, which it reads on from where it
 * left off: what the web view's pages are sent (web/output-follow.ts) and what a terminal prints (`logs --follow`,
 * `dispatch --wait`) as the log grows, a line being redrawn, the log written anew, and a claude run's lines made
 * readable across reads. A page's view of repeated output at the window size is in web-ui-output-browser.test.ts, the
 * CLI's in e2e/logs-follow.test.ts.
 */
describe("following this node's log of a run by position", () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;
  let followers: OutputFollowers;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    ctx = await openBus(bus.home('alpha'));
    mkdirSync(ctx.paths.logs, { recursive: true });
    followers = new OutputFollowers(ctx, 100);
  });
  afterAll(async () => {
    followers?.stop();
    await ctx?.repo.close();
    await bus?.cleanup();
  });

  /** A task claimed here, its log holding `text`, and the events of a page following it. */
  async function followed(args: string[], text: string) {
    const id = await bus.dispatch('alpha', args);
    await claim(ctx, { id });
    const log = join(ctx.paths.logs, `${id}.1.log`);
    writeFileSync(log, text);
    const events: OutputEvent[] = [];
    const unfollow = followers.follow(id, (e) => events.push(e));
    /** What a page shows after the events so far: a reset replaces, anything else is added. */
    const page = () => events.reduce((shown, e) => (e.type !== 'output' ? shown : e.reset ? e.text : shown + e.text), '');
    /** Waits for an event like `want` among those after the ones already seen. */
    const next = async (want: Partial<Extract<OutputEvent, { type: 'output' }>>) => {
      const seen = events.length;
      await until(`an output event ${JSON.stringify(want)}`, () => events.slice(seen).some((e) => e.type === 'output' && matches(e, want)), 10_000, () => JSON.stringify(events.slice(-3)));
    };
    return { id, log, events, page, next, unfollow };
  }

  function matches(e: Extract<OutputEvent, { type: 'output' }>, want: Partial<Extract<OutputEvent, { type: 'output' }>>): boolean {
    return Object.entries(want).every(([k, v]) => (e as unknown as Record<string, unknown>)[k] === v);
  }

  it('sends what follows the position: more of a line, a redrawn line with the lines before it, whole lines; a page that joins gets it all', async () => {
    const f = await followed(['plain'], 'one\nstep 1');
    await f.next({ reset: true, text: 'one\nstep 1' });
    appendFileSync(f.log, '0');
    await f.next({ reset: false, text: '0' });
    // A progress bar redrawn in place: the line shown is replaced, not printed again after it.
    appendFileSync(f.log, '\rstep 11');
    await f.next({ reset: true, text: 'one\nstep 11' });
    appendFileSync(f.log, ' done\nrepeat\nrepeat\n');
    await f.next({ reset: false, text: ' done\nrepeat\nrepeat\n' });
    appendFileSync(f.log, 'repeat\nrepeat\n');
    await f.next({ reset: false, text: 'repeat\nrepeat\n' });
    expect(f.page()).toBe('one\nstep 11 done\nrepeat\nrepeat\nrepeat\nrepeat\n');
    const joined: OutputEvent[] = [];
    const leave = followers.follow(f.id, (e) => joined.push(e));
    expect(joined[0]).toMatchObject({ type: 'output', reset: true, text: f.page() });
    leave();
    // The log written anew (shorter than the position): what it holds replaces what was shown.
    writeFileSync(f.log, 'fresh\n');
    await f.next({ reset: true, text: 'fresh\n' });
    const r = await gitbus(['respond', f.id, '--status', 'succeeded', '--summary', 'done'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(0);
    await until('the end', () => f.events.some((e) => e.type === 'end' && e.state === 'succeeded'), 15_000, () => JSON.stringify(f.events.slice(-3)));
    expect(f.page()).toBe('fresh\n');
    f.unfollow();
  });

  it('prints for a terminal what follows the position; a redrawn line again on a line of its own; a log written anew after what was printed', async () => {
    const id = await bus.dispatch('alpha', ['printed']);
    await claim(ctx, { id });
    const log = join(ctx.paths.logs, `${id}.1.log`);
    writeFileSync(log, 'one\nstep 1');
    const follower = new OutputFollower();
    const printed = async () => follower.next(await taskOutput(ctx, id)).printed;
    expect(await printed()).toBe('one\nstep 1');
    appendFileSync(log, '0');
    expect(await printed()).toBe('0');
    expect(await printed()).toBe('');
    // A terminal cannot take back `step 10`: the line as it is now, on a line of its own.
    appendFileSync(log, '\rstep 11');
    expect(await printed()).toBe('\nstep 11');
    appendFileSync(log, ' done\nrepeat\n');
    expect(await printed()).toBe(' done\nrepeat\n');
    appendFileSync(log, 'repeat\n');
    expect(await printed()).toBe('repeat\n');
    writeFileSync(log, 'fresh\n');
    expect(await printed()).toBe('fresh\n');
    // Looked at, not read (`logText: false`), and gone before the follower reads it: the caller reads again.
    const looked = await taskOutput(ctx, id, { logText: false });
    rmSync(log);
    expect(follower.next(looked, false)).toBeNull();
  });

  it('shows output that repeats itself past the window each time it grows, once: the window read is the same text every time', async () => {
    const line = `${'tick '.repeat(12)}...\n`;
    expect(LOG_TAIL_BYTES % line.length).toBe(0);
    const f = await followed(['repeats'], line.repeat(LOG_TAIL_BYTES / line.length + 10));
    await f.next({ reset: true, text: line.repeat(LOG_TAIL_BYTES / line.length) });
    appendFileSync(f.log, line);
    await f.next({ reset: false, text: line });
    appendFileSync(f.log, line.repeat(3));
    await f.next({ reset: false, text: line.repeat(3) });
    expect(f.page()).toBe(line.repeat(LOG_TAIL_BYTES / line.length + 4));
    // The page was told what came before the window it was sent first: the ten lines past it, and where they are.
    const resets = f.events.filter((e) => e.type === 'output' && e.reset);
    expect(resets.map((e) => e.type === 'output' && e.before)).toEqual([{ path: f.log, bytes: 10 * line.length, about: false }]);
    // One that joins now is sent the end of what was shown, whole lines of at most a window, and told of the lines
    // before them.
    const joined: OutputEvent[] = [];
    const unjoin = followers.follow(f.id, (e) => joined.push(e));
    const kept = LOG_TAIL_BYTES / line.length - 1;
    expect(joined[0]).toMatchObject({ type: 'output', reset: true, text: line.repeat(kept), before: { path: f.log, bytes: (LOG_TAIL_BYTES / line.length + 14 - kept) * line.length, about: false } });
    unjoin();
    f.unfollow();
  });

  it('says on a line of its own where a log grew by more than the window between two reads, and counts what it did not show', async () => {
    const id = await bus.dispatch('alpha', ['jumps']);
    await claim(ctx, { id });
    const log = join(ctx.paths.logs, `${id}.1.log`);
    writeFileSync(log, 'one\nstep 1');
    const follower = new OutputFollower();
    // As `logs --follow` and `--wait` read it: taskOutput only looks at the log, the follower reads it on.
    const read = async () => (await followOn(ctx, await taskOutput(ctx, id, { logText: false }), follower)).step;
    expect((await read()).printed).toBe('one\nstep 1');
    expect(follower.logNotShown).toEqual({ path: log, bytes: 10, first: 0, between: 0 });
    // The line being written ends, then 1 MiB more than a window comes in before the next read.
    const line = `${'x'.repeat(63)}\n`;
    const past = 16384;
    appendFileSync(log, `\n${line.repeat(LOG_TAIL_BYTES / line.length + past)}`);
    const window = line.repeat(LOG_TAIL_BYTES / line.length);
    const left = past * line.length + 1; // the line end after `step 1`, which was shown without it, and the lines
    const step = await read();
    expect(step.printed).toBe(`\n${window}`);
    expect(step.note).toBe(`gitbus: ${left} bytes of output not shown here (more than 8 MB came in between two reads); all of it is in ${log}\n`);
    // A page is sent the window, which replaces what it showed, as a page that joins now would be, and is told how
    // much came before it (all of the log up to the window).
    expect(step.change).toEqual({ reset: true, text: window });
    expect(follower.logBefore).toEqual({ path: log, bytes: 11 + left - 1, about: false });
    const bytes = 11 + (LOG_TAIL_BYTES + past * line.length);
    expect(follower.logNotShown).toEqual({ path: log, bytes, first: 0, between: left });
    appendFileSync(log, 'last\n');
    expect((await read()).printed).toBe('last\n');
    expect(follower.logNotShown).toEqual({ path: log, bytes: bytes + 5, first: 0, between: left });
    // Written anew: what it does not show of it is counted afresh.
    writeFileSync(log, 'fresh\n');
    expect((await read()).printed).toBe('fresh\n');
    expect(follower.logNotShown).toEqual({ path: log, bytes: 6, first: 0, between: 0 });
  });

  it("reads a claude run's stream-json on from where it left off, readable, a tool's failure named by the call an earlier read saw", async () => {
    const call = JSON.stringify({ type: 'assistant', message: { content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'npm test' } }] } });
    const failed = JSON.stringify({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't1', is_error: true, content: 'exit 1' }] } });
    const f = await followed(['claude run', '--runner', 'claude'], `${call}\n${failed.slice(0, 20)}`);
    // A line still being written is not shown: it may be half a JSON event.
    await f.next({ reset: true, text: '  → Bash: npm test\n' });
    appendFileSync(f.log, `${failed.slice(20)}\n`);
    await f.next({ reset: false, text: '  ✗ Bash: exit 1\n' });
    expect(f.page()).toBe('  → Bash: npm test\n  ✗ Bash: exit 1\n');
    f.unfollow();
  });
});
