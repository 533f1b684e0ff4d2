import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { join } from 'node:path';
import { writeFile, mkdir, readFile } from 'node:fs/promises';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

/** gitbus and plain git read and write the same repository. */
describe('interoperability with the git CLI', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let work: string;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    work = join(bus.dir, 'person');
    gitCli(['clone', '-q', bus.remote, work]);
  });
  afterAll(async () => bus?.cleanup());

  it('lists and claims a handoff written and pushed with plain git', async () => {
    await mkdir(join(work, 'handoffs'), { recursive: true });
    await writeFile(join(work, 'handoffs', 'by-hand-1.md'), '---\n# yaml-language-server: $schema=../schemas/handoff.schema.json\ntitle: Written in an editor\nlabels: []\n---\n## Task\n\nCheck the thing.\n');
    gitCli(['add', 'handoffs/by-hand-1.md'], work);
    gitCli(['commit', '-q', '-m', 'dispatch by hand'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);

    const status = json<{ tasks: { id: string; state: string; title: string }[]; problems: unknown[] }>(await gitbus(['status', '--json'], { home: bus.home('alpha') }));
    expect(status.tasks).toContainEqual(expect.objectContaining({ id: 'by-hand-1', state: 'pending', title: 'Written in an editor' }));
    expect(status.problems).toEqual([]);

    const c = await gitbus(['claim', 'by-hand-1', '--json'], { home: bus.home('alpha') });
    expect(c.code, c.stderr).toBe(0);
    expect(json(c)).toMatchObject({ id: 'by-hand-1', attempt: 1, node: 'alpha' });
  });

  it('writes commits that git log and git show read', async () => {
    const r = await gitbus(['respond', 'by-hand-1', '--status', 'succeeded', '--summary', 'all good', '--json'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(0);
    gitCli(['pull', '-q', '--ff-only', 'origin', 'main'], work);
    const log = gitCli(['log', '--format=%an|%s', '-3'], work);
    expect(log).toContain('alpha|gitbus: respond by-hand-1 succeeded by alpha');
    expect(log).toContain('alpha|gitbus: claim by-hand-1 attempt 1 by alpha');
    const claim = gitCli(['show', 'HEAD~1:claims/by-hand-1.1.md'], work);
    expect(claim).toMatch(/^---\n/);
    expect(claim).toContain('node: alpha');
    const response = await readFile(join(work, 'responses', 'by-hand-1.md'), 'utf8');
    expect(response).toContain('status: succeeded');
    expect(response).toContain('## Summary\n\nall good');
    expect(() => gitCli(['fsck', '--no-progress'], work)).not.toThrow();
    expect(() => gitCli(['--git-dir', bus.remote, 'fsck', '--no-progress'])).not.toThrow();
  });

  it('keeps working when a person pushes in between (compare-and-swap, no force)', async () => {
    const id = await bus.dispatch('alpha', ['first from gitbus']);
    await writeFile(join(work, 'handoffs', 'by-hand-2.md'), '---\ntitle: second by hand\n---\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'another by hand'], work);
    // The person's push is a normal fast-forward-only push: it fails if gitbus moved main, as git intends.
    gitCli(['pull', '-q', '--rebase', 'origin', 'main'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const status = json<{ tasks: { id: string; state: string }[] }>(await gitbus(['status', '--json'], { home: bus.home('alpha') }));
    expect(status.tasks.map((t) => t.id)).toEqual(expect.arrayContaining([id, 'by-hand-2']));
    const log = gitCli(['--git-dir', bus.remote, 'log', '--format=%s', 'main']);
    expect(log).toContain('another by hand');
    expect(log).toContain(`gitbus: dispatch ${id}`);
  });

  it('lint checks a checkout and single files on disk, as a pre-commit hook would', async () => {
    gitCli(['pull', '-q', '--ff-only', 'origin', 'main'], work);
    const clean = await gitbus(['lint', work, '--json'], { home: bus.home('alpha') });
    expect(clean.code, clean.stdout).toBe(0);
    expect(json<{ checked: number; errors: number }>(clean)).toMatchObject({ errors: 0 });
    expect(json<{ checked: number }>(clean).checked).toBeGreaterThan(3);

    await writeFile(join(work, 'handoffs', 'draft.md'), '---\ntitle: draft\nrunner: tmux\n---\n');
    const one = await gitbus(['lint', join(work, 'handoffs', 'draft.md')]);
    expect(one.code).toBe(8);
    expect(one.stdout).toContain('handoffs/draft.md');
    expect(one.stdout).toContain('command');
    const all = await gitbus(['lint', work, '--json']);
    expect(all.code).toBe(8);
    expect(json<{ problems: { path: string }[] }>(all).problems.map((p) => p.path)).toEqual(['handoffs/draft.md']);
    const missing = await gitbus(['lint', join(work, 'nope.md')]);
    expect(missing.code).toBe(2);
  });
});
