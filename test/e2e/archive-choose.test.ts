import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { claimAndRespond, dispatchTask } from '../helpers/in-process.js';

/** Which finished tasks `gitbus archive` moves: one bad file stays behind without holding the others back. */
describe('archive chooses', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home = '';
  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    home = bus.home('alpha');
  });
  afterAll(async () => bus?.cleanup());

  /** A person rewrites lines of a task's response with plain git, as anyone with push access may. */
  const editResponse = (id: string, edit: (text: string) => string, name: string) => {
    const work = join(bus.dir, name);
    gitCli(['clone', '-q', bus.remote, work]);
    const file = join(work, 'responses', `${id}.md`);
    writeFileSync(file, edit(readFileSync(file, 'utf8')));
    gitCli(['commit', '-q', '-am', `edit ${id}`], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
  };

  // A response that does not parse ends its task as failed (docs/PROTOCOL.md §4), so it is archived like the others,
  // in the month it is archived in; one that parsed would have had no month (year -1) and failed the whole batch.
  it('a response whose time a zone carries out of years 0000-9999 is a lint error; archive moves it and the others', async () => {
    const bad = await dispatchTask(home, { title: 'year zero', command: 'true' });
    const good = await dispatchTask(home, { title: 'fine', command: 'true' });
    for (const id of [bad, good]) await claimAndRespond(home, id, { status: 'succeeded' });
    editResponse(bad, (t) => t.replace(/^finished: .*$/m, 'finished: 0000-01-01T00:30:00+01:00').replace(/^started: .*$/m, 'started: 0000-01-01T00:00:00+01:00'), 'year-zero');

    const lint = await gitbus(['lint', '--json'], { home });
    expect(lint.code, lint.stdout).toBe(8);
    expect(json<{ problems: unknown[] }>(lint).problems).toContainEqual(expect.objectContaining({ path: `responses/${bad}.md`, field: 'finished', reason: expect.stringContaining('outside the years 0000-9999') }));

    const a = await gitbus(['archive', '--all', '--json'], { home });
    expect(a.code, a.stderr).toBe(0);
    const r = json<{ archived: string[]; skipped: unknown[] }>(a);
    expect(r.archived).toEqual(expect.arrayContaining([good, bad]));
    expect(r.skipped).toEqual([]);
    // Archived, a response that does not parse says nothing of how the task ended: invalid (PROTOCOL §4), naming it.
    const shown = json<{ id: string; state: string; archived: string }>(await gitbus(['show', bad, '--json'], { home }));
    expect(shown).toMatchObject({ id: bad, state: 'invalid', archived: expect.stringMatching(/^[0-9]{4}-[0-9]{2}$/) });
  });

  it('--all takes a finished task whose end is in the future (a node whose clock runs ahead)', async () => {
    const ahead = await dispatchTask(home, { title: 'clock ahead', command: 'true' });
    await claimAndRespond(home, ahead, { status: 'succeeded' });
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    editResponse(ahead, (t) => t.replace(/^finished: .*$/m, `finished: ${tomorrow}`), 'clock-ahead');
    // Not by age: it has not ended a day ago by this clock.
    expect(json<{ archived: string[] }>(await gitbus(['archive', '--older-than', '1h', '--json'], { home })).archived).not.toContain(ahead);
    const a = await gitbus(['archive', '--all', '--json'], { home });
    expect(a.code, a.stderr).toBe(0);
    expect(json<{ archived: string[] }>(a).archived).toContain(ahead);
  });
});
