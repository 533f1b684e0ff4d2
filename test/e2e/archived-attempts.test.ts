import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { gitbus, json } from '../helpers/cli.js';
import { archivedTask, ranTaskInProcess } from '../helpers/in-process.js';
import { changeArchivedFile } from '../helpers/archive-branch.js';

const GROUP = 'retried';
const ATTEMPTS = 11;

/**
 * An archived task that was claimed and given back eleven times, then cancelled: what reads its claims takes them
 * by attempt number, as a live task's (`claim.2.md` before `claim.10.md`, not tree order), and `group` counts only
 * the claims that count, as `resume` reads them: one rewritten into what does not parse is no attempt.
 */
describe('an archived task with many attempts', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home = '';
  let id = '';
  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha', initArgs: ['--max-attempts', String(ATTEMPTS)] });
    home = bus.home('alpha');
    id = await archivedTask(home, 'tried again and again', { attempts: ATTEMPTS, end: 'cancelled', group: GROUP });
  }, 60_000);
  afterAll(async () => bus?.cleanup());

  it('show and verify list its claims by attempt number, each with its release, and resume reads them in that order', async () => {
    const r = await gitbus(['show', id, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const shown = json<{ archived: string; files: { path: string }[] }>(r);
    const month = shown.archived;
    const perAttempt = Array.from({ length: ATTEMPTS }, (_, i) => [`claim.${i + 1}.md`, `release.${i + 1}.md`]).flat();
    expect(shown.files.map((f) => f.path)).toEqual(['handoff.md', ...perAttempt, 'cancel.md'].map((n) => `archive:${month}/${id}/${n}`));
    expect((await ranTaskInProcess(home, id)).claims.map((c) => c.attempt)).toEqual(Array.from({ length: ATTEMPTS }, (_, i) => i + 1));
    // verify lists the same files in the same order, by the paths they had in main.
    const v = await gitbus(['verify', id, '--json'], { home });
    expect(v.code, v.stderr).toBe(0);
    const perAttemptLive = Array.from({ length: ATTEMPTS }, (_, i) => [`claims/${id}.${i + 1}.md`, `releases/${id}.${i + 1}.md`]).flat();
    expect(json<{ files: { path: string }[] }>(v).files.map((f) => f.path)).toEqual([`handoffs/${id}.md`, ...perAttemptLive, `cancels/${id}.md`]);
  });

  it('group takes its attempt and node from the last claim that counts, not from a claim file that does not parse', async () => {
    const before = json<{ others: { id: string; attempt: number | null; node: string | null }[] }>(await gitbus(['group', GROUP, '--json'], { home }));
    expect(before.others).toEqual([expect.objectContaining({ id, state: 'cancelled', attempt: ATTEMPTS, node: 'alpha' })]);
    // The last claim rewritten on the archive branch into what does not parse.
    changeArchivedFile(bus.remote, join(bus.dir, 'archive-edit'), id, `claim.${ATTEMPTS}.md`, (f) => writeFileSync(f, '---\ngarbage: [\n---\n'));
    const r = await gitbus(['group', GROUP, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ others: unknown[] }>(r).others).toEqual([expect.objectContaining({ id, state: 'cancelled', attempt: ATTEMPTS - 1, node: 'alpha' })]);
    // As resume and resolve read it.
    expect((await ranTaskInProcess(home, id)).claims.map((c) => c.attempt).at(-1)).toBe(ATTEMPTS - 1);
  });
});
