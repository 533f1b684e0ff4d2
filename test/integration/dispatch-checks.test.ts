import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBus } from '../../bus/context.js';
import { dispatchDue, type UnrenderableSchedule } from '../../bus/ops/schedule.js';
import { cancelDoomed } from '../../bus/ops/dependency-cancel.js';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { pushFiles } from '../helpers/push-access.js';

/**
 * `dispatch --after REF` takes the same task refs as status and show: a unique prefix or suffix of a live task is
 * written as its full id, which is what a watcher matches (a suffix in the handoff would wait for ever).
 */
describe('dispatch --after a short ref', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  const afterOf = (id: string) => gitCli(['--git-dir', bus.remote, 'show', `main:handoffs/${id}.md`]).split('\n').find((l) => l.startsWith('after:'));

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
  });
  afterAll(async () => bus?.cleanup());

  it('writes the full id of the live task a unique suffix names, refuses an ambiguous one, and keeps an unknown one', async () => {
    const first = await bus.dispatch('alpha', ['first', '--command', 'true']);
    const second = await bus.dispatch('alpha', ['second', '--command', 'true', '--after', first.slice(-6)]);
    expect(afterOf(second)).toBe(`after: [${first}]`);

    await bus.dispatch('alpha', ['x', '--id', 'x-common']);
    await bus.dispatch('alpha', ['y', '--id', 'y-common']);
    const ambiguous = await gitbus(['dispatch', 'third', '--no-git', '--after', 'common', '--json'], { home: bus.home('alpha') });
    expect(ambiguous.code).toBe(4);
    expect(json<{ error: { message: string } }>(ambiguous).error.message).toMatch(/x-common.*y-common|y-common.*x-common/);

    // Not live: kept as given (an archived task is named by its full id), with dispatch's warning.
    const later = await gitbus(['dispatch', 'fourth', '--no-git', '--after', 'gone-long-ago', '--json'], { home: bus.home('alpha') });
    expect(later.code, later.stderr).toBe(0);
    const out = json<{ id: string; warnings: string[] }>(later);
    expect(afterOf(out.id)).toBe('after: [gone-long-ago]');
    expect(out.warnings.join('\n')).toContain('dependency gone-long-ago is not a live task');

    // Many of them: one warning naming ten and counting the rest (each was a warning of its own: 25,000 ids made an
    // MCP result of 4 MB).
    const many = Array.from({ length: 300 }, (_, i) => `gone-${i}`);
    const crowd = await gitbus(['dispatch', 'fifth', '--no-git', ...many.flatMap((d) => ['--after', d]), '--json'], { home: bus.home('alpha') });
    expect(crowd.code, crowd.stderr).toBe(0);
    const crowded = json<{ warnings: string[] }>(crowd).warnings.filter((w) => w.includes('not live tasks') || w.includes('not a live task'));
    expect(crowded).toEqual([expect.stringMatching(/^dependencies gone-0, gone-1, .*gone-9 and 290 more are not live tasks/)]);
  });

  it('warns about a dependency cancelled by a change queued here and delivered in the same commit', async () => {
    const first = await bus.dispatch('alpha', ['to be cancelled', '--command', 'true']);
    // The cancel asked while the remote was away waits in this home's queue; the next dispatch delivers both.
    const away = `${bus.remote}.away`;
    renameSync(bus.remote, away);
    try {
      const cancelled = await gitbus(['cancel', first, '--json'], { home: bus.home('alpha') });
      expect(json<{ queued?: unknown }>(cancelled).queued, cancelled.stderr).toBeDefined();
    } finally {
      renameSync(away, bus.remote);
    }
    const next = await gitbus(['dispatch', 'after it', '--no-git', '--command', 'true', '--after', first, '--json'], { home: bus.home('alpha') });
    expect(next.code, next.stderr).toBe(0);
    expect(json<{ warnings: string[] }>(next).warnings.join('\n')).toContain(`${first} was cancelled, so the task can never run`);
  });

  it('warns when a schedule is due more often than the bus polls, and not for a daily one', async () => {
    const fine = await gitbus(['dispatch', 'nightly', '--no-git', '--command', 'true', '--schedule', '0 3 * * *', '--json'], { home: bus.home('alpha') });
    expect(fine.code, fine.stderr).toBe(0);
    expect(json<{ warnings: string[] }>(fine).warnings.join('\n')).not.toContain('schedule');
    // A seconds field is refused (a usage error, nothing written), with the five-field line to give instead.
    const head = gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']);
    const seconds = await gitbus(['dispatch', 'ticker', '--no-git', '--command', 'true', '--schedule', '*/10 * * * * *', '--json'], { home: bus.home('alpha') });
    expect(seconds.code, seconds.stderr).toBe(2);
    expect(json<{ error: { message: string; fix: string } }>(seconds).error).toMatchObject({ message: expect.stringContaining('--schedule'), fix: expect.stringContaining('"* * * * *"') });
    expect(gitCli(['--git-dir', bus.remote, 'rev-parse', 'main'])).toBe(head);
    // Due more often than a bus that polls every 5 minutes: said.
    const slow = await makeBus({ node: 'alpha', initArgs: ['--poll', '5m'] });
    try {
      const often = await gitbus(['dispatch', 'ticker', '--no-git', '--command', 'true', '--schedule', '*/2 * * * *'], { home: slow.home('alpha') });
      expect(often.code, often.stderr).toBe(0);
      expect(often.stderr).toContain("warning: the schedule is due every 2m at times, more often than the bus's poll (5m)");
    } finally {
      await slow.cleanup();
    }
  });

  it('dispatch --from resolves a line\'s short after to a sibling\'s chosen id; lint warns of a schedule never due', async () => {
    const r = await gitbus(['dispatch', '--from', '-', '--no-git', '--json'], { home: bus.home('alpha'), input: '{"title":"a","id":"bt-first"}\n{"title":"b","id":"bt-second","after":["first"]}\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(afterOf('bt-second')).toBe('after: [bt-first]');
    expect(json<{ warnings: string[] }>(r).warnings.join('\n')).toContain('after first is taken as bt-first, the task it names');
    // A template written by hand with a day the month lacks.
    const work = join(bus.dir, 'hand');
    gitCli(['clone', '-q', '-b', 'main', bus.remote, work]);
    pushFiles(work, { 'handoffs/never-due.md': '---\ntitle: never\ncommand: "true"\nschedule: "0 0 30 2 *"\n---\n' }, 'a schedule');
    const lint = await gitbus(['lint', '--json'], { home: bus.home('alpha') });
    expect(json<{ problems: { path: string; field: string; reason: string }[] }>(lint).problems).toContainEqual(expect.objectContaining({ path: 'handoffs/never-due.md', field: 'schedule', reason: expect.stringContaining('is never due') }));
    // lint PATH runs the same check, on the clone and on the one file.
    for (const path of [work, join(work, 'handoffs', 'never-due.md')]) {
      const local = await gitbus(['lint', path, '--json'], { home: bus.home('alpha') });
      expect(json<{ problems: { path: string; field: string; reason: string }[] }>(local).problems, path).toContainEqual(expect.objectContaining({ path: 'handoffs/never-due.md', field: 'schedule', reason: expect.stringContaining('is never due') }));
    }
  });

  it('dispatch --from warns of a node the remote lacks, not of one that joined since this clone last synced', async () => {
    const warnings = (r: Parameters<typeof json>[0]) => json<{ warnings: string[] }>(r).warnings.join('\n');
    await bus.dispatch('alpha', ['synced here', '--command', 'true']);
    await bus.addNode('late-one', [], ['--runner', 'shell']);
    const lines = (to: string) => `{"title":"to ${to}","command":"true","to":"${to}"}\n{"title":"to nobody","command":"true","to":"nobody"}\n`;
    const dry = await gitbus(['dispatch', '--from', '-', '--no-git', '--dry-run', '--force', '--json'], { home: bus.home('alpha'), input: lines('late-one') });
    expect(dry.code, dry.stderr).toBe(0);
    expect(warnings(dry)).toContain('no node named "nobody" is on this bus yet');
    expect(warnings(dry)).not.toContain('"late-one"');
    await bus.addNode('late-two', [], ['--runner', 'shell']);
    const sent = await gitbus(['dispatch', '--from', '-', '--no-git', '--force', '--json'], { home: bus.home('alpha'), input: lines('late-two') });
    expect(sent.code, sent.stderr).toBe(0);
    expect(warnings(sent)).toContain('no node named "nobody" is on this bus yet');
    expect(warnings(sent)).not.toContain('"late-two"');
  });
});

/**
 * A template whose instance would pass the 256 KiB limit (a body just under it: the instance adds its id, `from`,
 * `created` and a line naming the schedule) dispatches nothing: dispatch refuses it, lint reports one written by
 * hand, and the watcher says so once instead of skipping it in silence.
 */
describe('a schedule whose instance would be too big', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  const body = `${'x'.repeat(99)}\n`.repeat(2619);

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
  });
  afterAll(async () => bus?.cleanup());

  it('is refused by dispatch, naming the size, the limit and the fix', async () => {
    const file = join(bus.dir, 'big.md');
    writeFileSync(file, body);
    const r = await gitbus(['dispatch', 'big', '--no-git', '--command', 'true', '--schedule', '* * * * *', '--body-file', file, '--json'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(2);
    const err = json<{ error: { code: string; message: string; fix: string; data: { flag?: string } } }>(r).error;
    expect(err.code).toBe('BAD_INPUT');
    expect(err.data.flag).toBe('--body-file');
    expect(err.message).toMatch(/dispatch nothing.*\d+ bytes, more than the limit of 262144/);
    expect(err.fix).toContain('shorten the body');
    // The same body without a schedule is a task of its own, within the limit.
    const once = await gitbus(['dispatch', 'big once', '--no-git', '--command', 'true', '--body-file', file, '--json'], { home: bus.home('alpha') });
    expect(once.code, once.stderr).toBe(0);
  });

  it('written by hand, is an error of lint (bus and PATH), and the watcher reports it once', async () => {
    const work = join(bus.dir, 'hand');
    gitCli(['clone', '-q', '-b', 'main', bus.remote, work]);
    pushFiles(work, { 'handoffs/big-template.md': `---\ntitle: big\ncommand: "true"\nschedule: "* * * * *"\n---\n${body}` }, 'a big schedule');
    const expected = expect.objectContaining({ path: 'handoffs/big-template.md', severity: 'error', reason: expect.stringMatching(/dispatches nothing.*more than the limit/) });
    const lint = await gitbus(['lint', '--json'], { home: bus.home('alpha') });
    expect(lint.code).toBe(8);
    expect(json<{ problems: unknown[] }>(lint).problems).toContainEqual(expected);
    for (const path of [work, join(work, 'handoffs', 'big-template.md')]) {
      const local = await gitbus(['lint', path, '--json'], { home: bus.home('alpha') });
      expect(json<{ problems: unknown[] }>(local).problems, path).toContainEqual(expected);
    }
    const ctx = await openBus(bus.home('alpha'));
    try {
      const told: UnrenderableSchedule[] = [];
      const later = new Date(Date.now() + 120_000);
      expect(await dispatchDue(ctx, later, { onUnrenderable: (u) => told.push(u) })).toEqual([]);
      expect(await dispatchDue(ctx, new Date(later.getTime() + 60_000), { onUnrenderable: (u) => told.push(u) })).toEqual([]);
      expect(told).toEqual([expect.objectContaining({ template: 'big-template', reason: expect.stringContaining('more than the limit'), fix: expect.stringContaining('shorter body') })]);
    } finally {
      await ctx.repo.close();
    }
  });
});

/**
 * A schedule's template never ends (PROTOCOL.md §4 rule 5): `--after` naming one is refused, lint reports a handoff
 * written by hand that names one, and the housekeeping cancels such a task as a dead end, status saying why first.
 */
describe('after a schedule template', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    await bus.dispatch('alpha', ['nightly', '--command', 'true', '--schedule', '0 3 * * *', '--id', 'nightly']);
  });
  afterAll(async () => bus?.cleanup());

  it('is refused by dispatch, on --after, naming the fix', async () => {
    const r = await gitbus(['dispatch', 'after it', '--no-git', '--command', 'true', '--after', 'nightly', '--json'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(2);
    const err = json<{ error: { code: string; message: string; fix: string; data: { flag?: string } } }>(r).error;
    expect(err).toMatchObject({ code: 'BAD_INPUT', data: { flag: '--after' } });
    expect(err.message).toContain('nightly names a schedule template, which never ends');
    expect(err.fix).toContain('drop --after nightly');
  });

  it('written by hand, is a lint error on after, shown in status, and cancelled by the housekeeping with the reason', async () => {
    const work = join(bus.dir, 'hand');
    gitCli(['clone', '-q', '-b', 'main', bus.remote, work]);
    pushFiles(work, { 'handoffs/waits-for-nightly.md': '---\ntitle: waits\ncommand: "true"\nafter: [nightly]\n---\n' }, 'after a template');
    const expected = expect.objectContaining({ path: 'handoffs/waits-for-nightly.md', field: 'after', severity: 'error', reason: expect.stringContaining('nightly is a schedule template') });
    const lint = await gitbus(['lint', '--json'], { home: bus.home('alpha') });
    expect(json<{ problems: unknown[] }>(lint).problems).toContainEqual(expected);
    const local = await gitbus(['lint', work, '--json'], { home: bus.home('alpha') });
    expect(json<{ problems: unknown[] }>(local).problems).toContainEqual(expected);
    const status = await gitbus(['status'], { home: bus.home('alpha') });
    expect(status.stdout).toContain('nightly, a schedule template, which never ends');
    const ctx = await openBus(bus.home('alpha'));
    try {
      expect(await cancelDoomed(ctx)).toEqual([{ id: 'waits-for-nightly', reason: 'dependency nightly is a schedule template, which never ends' }]);
    } finally {
      await ctx.repo.close();
    }
  });
});

/**
 * A template after a task that ended without success would dispatch an instance cancelled at once at every due
 * time: dispatch warns, and the housekeeping cancels the template itself, which ends the schedule.
 */
describe('a schedule after a task that ended without success', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
  });
  afterAll(async () => bus?.cleanup());

  it('is warned of at dispatch and cancelled by the housekeeping, so no instance is dispatched', async () => {
    const gone = await bus.dispatch('alpha', ['gone', '--command', 'true', '--id', 'gone']);
    const c = await gitbus(['cancel', gone, '--json'], { home: bus.home('alpha') });
    expect(c.code, c.stderr).toBe(0);
    const r = await gitbus(['dispatch', 'every minute', '--no-git', '--command', 'true', '--schedule', '* * * * *', '--after', gone, '--id', 'doomed-schedule', '--json'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ warnings: string[] }>(r).warnings).toContainEqual(expect.stringContaining('dependency gone was cancelled, so the schedule can never dispatch a task that runs'));
    const ctx = await openBus(bus.home('alpha'));
    try {
      expect(await cancelDoomed(ctx)).toEqual([{ id: 'doomed-schedule', reason: 'dependency gone was cancelled' }]);
      expect(await dispatchDue(ctx, new Date(Date.now() + 120_000))).toEqual([]);
    } finally {
      await ctx.repo.close();
    }
  });
});

/**
 * A schedule copied into two buses (the same template file, so the same template id) makes its instances on each:
 * what a process remembers of instances it found is per bus, so one process working on both (a test worker, a
 * served command's standby) does not take the first bus's instance for the second's.
 */
describe('the same schedule on two buses in one process', () => {
  it('dispatches its instance on each', async () => {
    const buses = [await makeBus({ node: 'alpha' }), await makeBus({ node: 'alpha' })];
    try {
      const due = new Date(Date.now() + 120_000);
      const made: string[][] = [];
      for (const [i, bus] of buses.entries()) {
        const work = join(bus.dir, 'hand');
        gitCli(['clone', '-q', '-b', 'main', bus.remote, work]);
        pushFiles(work, { 'handoffs/nightly-copy.md': '---\ntitle: nightly\ncommand: "true"\nschedule: "* * * * *"\n---\n' }, `the schedule, bus ${i}`);
        const ctx = await openBus(bus.home('alpha'));
        try {
          made.push((await dispatchDue(ctx, due)).map((x) => x.id));
          // Asked again, the instance is there: nothing more.
          expect(await dispatchDue(ctx, due)).toEqual([]);
        } finally {
          await ctx.repo.close();
        }
      }
      expect(made[0]).toHaveLength(1);
      expect(made[1]).toEqual(made[0]);
    } finally {
      for (const bus of buses) await bus.cleanup();
    }
  });
});
