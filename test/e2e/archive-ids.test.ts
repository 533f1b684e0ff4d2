import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { claimAndRespond, dispatchTask } from '../helpers/in-process.js';

type Failure = { error: { code: string; message: string; data?: Record<string, unknown> } };

/**
 * An archived task keeps its id for good: its full id names it, never a live task whose id it starts or ends (an
 * archived `job1` beside a live `job1-b`, a cancelled schedule template beside its instances), and a new task may not
 * take it, whether dispatched alone or in a batch.
 */
describe('an archived task by its full id', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home = '';
  let live = '';
  let month = '';
  const run = (args: string[]) => gitbus(args, { home });

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
    home = bus.home('alpha');
    await dispatchTask(home, { id: 'job1', title: 'old', command: 'true' });
    await claimAndRespond(home, 'job1', { status: 'succeeded' });
    const a = await run(['archive', '--all', '--json']);
    expect(a.code, a.stderr).toBe(0);
    expect(json<{ archived: string[] }>(a).archived).toContain('job1');
    live = await dispatchTask(home, { id: 'job1-b', title: 'new', command: 'true' });
  });
  afterAll(async () => bus?.cleanup());

  it('is the archived task for show and logs, not the live task it starts', async () => {
    const shown = await run(['show', 'job1', '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    const s = json<{ id: string; state: string; archived: string }>(shown);
    expect(s).toMatchObject({ id: 'job1', state: 'succeeded', archived: expect.stringMatching(/^\d{4}-\d{2}$/) });
    month = s.archived;
    // Summarized from its archived files as a live task is from main's (show --json and the web view's /api/task).
    expect(json<{ summary: unknown }>(shown).summary).toMatchObject({ id: 'job1', state: 'succeeded', title: 'old', attempts: 1, response: { status: 'succeeded', node: 'alpha' }, problems: [] });
    const logs = await run(['logs', 'job1', '--json']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(json(logs)).toMatchObject({ id: 'job1', state: 'succeeded' });
    // A ref that is no archived id still finds the live task by its prefix.
    expect(json(await run(['show', 'job1-', '--json']))).toMatchObject({ id: live, state: 'pending', archived: null });
  });

  it('is refused by claim, cancel, release and respond as an ended task; the live one is left alone', async () => {
    for (const args of [['claim', 'job1'], ['cancel', 'job1'], ['release', 'job1'], ['respond', 'job1', '--status', 'failed']]) {
      const r = await run([...args, '--json']);
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(5);
      expect(json<Failure>(r).error).toMatchObject({ code: 'TASK_STATE', message: expect.stringContaining('job1') });
      expect(json<Failure>(r).error.message).not.toContain(live);
    }
    expect(json(await run(['show', live, '--json']))).toMatchObject({ id: live, state: 'pending' });
    expect(month).not.toBe('');
  });

  it('is what --after names, with no word of the live task', async () => {
    const d = await run(['dispatch', 'dep', '--after', 'job1', '--no-git', '--json']);
    expect(d.code, d.stderr).toBe(0);
    const { id, warnings } = json<{ id: string; warnings: string[] }>(d);
    expect(warnings.join('\n')).not.toContain(live);
    const handoff = json<{ files: { path: string; text: string }[] }>(await run(['show', id, '--json'])).files[0]?.text ?? '';
    expect(handoff).toContain('after: [job1]\n');
  });

  it('is a batch line\'s problem when a line chooses it as its id, on that line, dry run or not', async () => {
    const file = join(bus.dir, 'h.jsonl');
    writeFileSync(file, `${JSON.stringify({ title: 'x', command: 'true' })}\n${JSON.stringify({ title: 'y', id: 'job1', command: 'true' })}\n`);
    for (const dry of [['--dry-run'], []]) {
      const r = await gitbus(['dispatch', '--from', 'h.jsonl', '--no-git', ...dry, '--json'], { home, cwd: bus.dir });
      expect(r.code, `${dry.join(' ')}: ${r.stdout}${r.stderr}`).toBe(8);
      const err = json<Failure>(r).error;
      expect(err.code).toBe('INVALID_BATCH');
      expect(err.data?.['problems']).toEqual([expect.objectContaining({ path: 'h.jsonl:2', field: 'id', reason: expect.stringContaining('job1 is in the archive') })]);
    }
  });

  it('cancelled and archived, is cancelled again as a no-op (exit 0, changed: false), where a succeeded one is exit 5', async () => {
    await dispatchTask(home, { id: 'stop1', title: 'stopped', command: 'true' });
    expect((await run(['cancel', 'stop1'])).code).toBe(0);
    const a = await run(['archive', '--all', '--json']);
    expect(json<{ archived: string[] }>(a).archived).toContain('stop1');
    const again = await run(['cancel', 'stop1', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(json(again)).toMatchObject({ id: 'stop1', state: 'cancelled', changed: false });
    expect((await run(['cancel', 'job1'])).code).toBe(5);
  });
});
