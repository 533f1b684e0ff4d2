import { mkdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus } from '../../bus/context.js';
import { snapshotOrLast } from '../../bus/ops/query.js';
import { MAIN } from '../../bus/repo.js';
import { makeBus } from '../helpers/bus.js';
import { gitCli } from '../helpers/cli.js';

/**
 * A bus file that becomes a link whose blob is the bytes it held (a link's blob is its target) is no file to read,
 * also in a process that parsed those bytes at that path before (a watcher): the caches keyed by name and blob id
 * do not answer for it.
 */
describe('a file that becomes a link with the same blob', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let work: string;
  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    work = join(bus.dir, 'work');
    gitCli(['clone', '-q', bus.remote, work]);
    mkdirSync(join(work, 'handoffs'), { recursive: true });
    writeFileSync(join(work, 'handoffs', 'to-link.md'), '---\ntitle: soon a link\ncommand: "true"\nlabels: [arm]\n---\n');
    push('a handoff');
  });
  afterAll(async () => bus?.cleanup());

  function push(message: string): void {
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', message], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
  }

  /** In this one process, as a watcher reads each new commit: the task's state, its problems, and the handoff test. */
  async function read() {
    const ctx = await openBus(bus.home('alpha'));
    try {
      const { snap } = await snapshotOrLast(ctx, (await ctx.repo.sync(MAIN)) as string);
      const view = (await snap.rowViews(['to-link']))[0];
      const passes = await snap.handoffIdsWhere('labels arm', (h) => h.labels?.includes('arm') === true, false);
      const unparsed = await snap.handoffIdsWhere('labels arm', (h) => h.labels?.includes('arm') === true, true);
      return { state: view?.state, problems: (await snap.problemParts()).tasks, passes, unparsed };
    } finally {
      await ctx.repo.close();
    }
  }

  it('is read as what it is, not as the file whose bytes it holds', async () => {
    expect(await read()).toMatchObject({ state: 'pending', problems: [], passes: ['to-link'], unparsed: ['to-link'] });
    const path = join(work, 'handoffs', 'to-link.md');
    const text = readFileSync(path, 'utf8');
    unlinkSync(path);
    symlinkSync(text, path);
    push('the handoff made a link with the same bytes');
    expect(gitCli(['ls-tree', 'HEAD', 'handoffs/to-link.md'], work)).toMatch(/^120000 /);
    const after = await read();
    expect(after.state).toBe('invalid');
    expect(after.problems).toEqual([['to-link', [expect.objectContaining({ path: 'handoffs/to-link.md', reason: expect.stringContaining('symbolic link') })]]]);
    expect(after.passes).toEqual([]);
    expect(after.unparsed).toEqual(['to-link']);
  });
});
