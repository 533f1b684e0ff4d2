import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { gitbus, json } from '../helpers/cli.js';
import { archivedTask, ranTaskInProcess } from '../helpers/in-process.js';

const GROUP = 'retried';
const ATTEMPTS = 11;

/**
 * An archived task that was claimed and given back eleven times, then cancelled: what reads its claims takes them
 * by attempt number, as a live task's (`claim.2.md` before `claim.10.md`, not tree order).
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

  it('show lists its claims by attempt number, each with its release, and resume reads them in that order', async () => {
    const r = await gitbus(['show', id, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const shown = json<{ archived: string; files: { path: string }[] }>(r);
    const month = shown.archived;
    const perAttempt = Array.from({ length: ATTEMPTS }, (_, i) => [`claim.${i + 1}.md`, `release.${i + 1}.md`]).flat();
    expect(shown.files.map((f) => f.path)).toEqual(['handoff.md', ...perAttempt, 'cancel.md'].map((n) => `archive:${month}/${id}/${n}`));
    expect((await ranTaskInProcess(home, id)).claims.map((c) => c.attempt)).toEqual(Array.from({ length: ATTEMPTS }, (_, i) => i + 1));
  });
});
