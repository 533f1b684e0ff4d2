import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BusContext } from '../../bus/context.js';
import { makeBus } from '../helpers/bus.js';
import { ROOT, gitCli } from '../helpers/cli.js';
import { claimInProcess } from '../helpers/in-process.js';

/**
 * bus/ops/archive.ts: a finished task whose end cannot be read (its response does not parse) has no end to take an
 * archive month from. A run that copies it to the archive and keeps it on main (a file of it came meanwhile), then a
 * run after the month turned, must copy it into the same month folder, not a second one. The two runs are given
 * their time (ArchiveOptions.now) on either side of a month's end.
 */
describe('the archive month of a task whose end cannot be read', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  afterAll(async () => bus?.cleanup());

  it('is the month it was made, the same for two runs on either side of a month boundary', async () => {
    bus = await makeBus({ node: 'alpha' });
    const home = bus.home('alpha');
    const id = await bus.dispatch('alpha', ['its response is damaged']);
    await claimInProcess(home, id);
    // Someone with push access writes a response that does not parse: the task has ended (failed), with no end time.
    const person = join(bus.dir, 'person');
    gitCli(['clone', '-q', bus.remote, person]);
    mkdirSync(join(person, 'responses'), { recursive: true });
    writeFileSync(join(person, 'responses', `${id}.md`), '---\nstatus: [not, a, status\n---\n');
    gitCli(['add', '-A'], person);
    gitCli(['commit', '-q', '-m', 'a damaged response'], person);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], person);

    const from = async <T>(p: string): Promise<T> => (await import(pathToFileURL(join(ROOT, 'dist', p)).href)) as T;
    const { openBus } = await from<{ openBus: (home: string) => Promise<BusContext> }>('bus/context.js');
    const ops = await from<typeof import('../../bus/ops/archive.js')>('bus/ops/archive.js');
    const withBus = async <T>(f: (ctx: BusContext) => Promise<T>): Promise<T> => {
      const ctx = await openBus(home);
      try {
        return await f(ctx);
      } finally {
        await ctx.repo.close();
      }
    };
    const months = () => [...new Set(gitCli(['ls-tree', '-r', '--name-only', 'archive'], bus.remote).split('\n').filter((p) => p.includes(`/${id}/`) && !p.startsWith('ids/')).map((p) => p.split('/')[0]))];
    // The month the id was made in (ids gitbus makes start with their UTC time).
    const made = `${id.slice(0, 4)}-${id.slice(4, 6)}`;

    // The first run, a second before a month ends, copies the task and (as when a file of it came meanwhile) leaves
    // it on main; the next, two seconds later in the next month, moves it.
    await withBus(async (ctx) => ops.addToArchive(ctx, await ops.planArchive(ctx, { all: true, now: new Date('2031-01-31T23:59:59Z') })));
    expect(months()).toEqual([made]);
    const r = await withBus((ctx) => ops.archive(ctx, { all: true, now: new Date('2031-02-01T00:00:01Z') }));
    expect(r.archived).toEqual([id]);
    expect(months()).toEqual([made]);
    expect(gitCli(['ls-tree', '-r', '--name-only', 'main'], bus.remote)).not.toContain(id);
  }, 120_000);

  it('is taken from the handoff\'s created, else the id\'s time, else now', async () => {
    const ops = await import(pathToFileURL(join(ROOT, 'dist', 'bus/ops/archive.js')).href) as typeof import('../../bus/ops/archive.js');
    const now = Date.parse('2031-02-01T00:00:01Z');
    expect(ops.archiveMonthOf({ id: '20300715-120000-abcdef', handoff: { created: '2030-06-30T23:00:00-02:00' } as never }, now)).toBe('2030-07');
    expect(ops.archiveMonthOf({ id: '20300715-120000-abcdef' }, now)).toBe('2030-07');
    // Not a time (month 13): no month from it.
    expect(ops.archiveMonthOf({ id: '20301315-120000-abcdef' }, now)).toBe('2031-02');
    expect(ops.archiveMonthOf({ id: 'by-hand' }, now)).toBe('2031-02');
    // An end that parses always wins.
    expect(ops.archiveMonthOf({ id: '20300715-120000-abcdef', response: { finished: '2030-09-01T00:00:00Z' } as never }, now)).toBe('2030-09');
  });
});
