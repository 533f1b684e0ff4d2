import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBus } from '../helpers/bus.js';
import { gitbus, gitCli, json } from '../helpers/cli.js';

/**
 * A release is written by the node holding a claim, after the claim. One written by hand for an attempt nobody
 * claimed gave back the claim later made at its number the moment it was made: the watcher ran the task, its result
 * was refused (the task read pending), and it claimed and ran it again, up to maxAttempts, ending `failed`.
 */
describe('a release written for an attempt no claim holds', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
  });
  afterAll(async () => {
    await bus?.cleanup();
  });

  it('is passed by the next claim, which runs the task once to its end, and lint names it with the fix', async () => {
    const id = await bus.dispatch('alpha', ['run once', '--runner', 'manual', '--to', 'alpha']);
    const work = join(bus.dir, 'work');
    gitCli(['clone', '-q', bus.remote, work]);
    mkdirSync(join(work, 'releases'), { recursive: true });
    for (const a of [1, 2]) writeFileSync(join(work, 'releases', `${id}.${a}.md`), `---\nid: ${id}\nattempt: ${a}\nnode: alpha\nreleased: 2026-01-01T00:00:00Z\n---\n`);
    gitCli(['add', '-A'], work);
    gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x.invalid', 'commit', '-q', '-m', 'releases by hand'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);

    const claimed = await gitbus(['claim', '--next', '--json'], { home: bus.home('alpha') });
    expect(claimed.code, claimed.stderr).toBe(0);
    expect(json<{ id: string; attempt: number }>(claimed)).toMatchObject({ id, attempt: 3 });
    const show = await gitbus(['show', id, '--json'], { home: bus.home('alpha') });
    expect(json<{ state: string }>(show).state).toBe('claimed');
    const respond = await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'ran once', '--json'], { home: bus.home('alpha') });
    expect(respond.code, respond.stderr).toBe(0);
    expect(json<{ state: string }>(await gitbus(['show', id, '--json'], { home: bus.home('alpha') })).state).toBe('succeeded');

    // Only the numbers a release names are skipped: a release of attempt 5 leaves attempt 1 to the first claim.
    const far = await bus.dispatch('alpha', ['released far ahead', '--runner', 'manual', '--to', 'alpha']);
    writeFileSync(join(work, 'releases', `${far}.5.md`), `---\nid: ${far}\nattempt: 5\nnode: alpha\nreleased: 2026-01-01T00:00:00Z\n---\n`);
    gitCli(['pull', '-q', '--rebase', 'origin', 'main'], work);
    gitCli(['add', '-A'], work);
    gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x.invalid', 'commit', '-q', '-m', 'a release far ahead'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const first = await gitbus(['claim', far, '--json'], { home: bus.home('alpha') });
    expect(first.code, first.stderr).toBe(0);
    expect(json<{ attempt: number }>(first).attempt).toBe(1);

    const lint = await gitbus(['lint', '--json'], { home: bus.home('alpha') });
    const problems = json<{ problems: { path: string; field: string; reason: string; fix: string; severity: string }[] }>(lint).problems.filter((p) => p.path.startsWith('releases/'));
    expect(problems.filter((p) => p.path.startsWith(`releases/${id}.`))).toEqual([1, 2].map((a) => ({
      path: `releases/${id}.${a}.md`,
      field: 'attempt',
      reason: `it gives back attempt ${a} of task ${id}, which no claim holds: only the node holding a claim writes its release, after the claim`,
      fix: `remove it (git rm releases/${id}.${a}.md); meanwhile a new claim of ${id} skips attempt ${a}`,
      severity: 'warning',
    })));
  });
});
