import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { gitbus, gitCli, json } from '../helpers/cli.js';

const GROUP = 'costly';
const at = '2026-01-01T00:00:00.000Z';

/**
 * A response's `claude.costUsd` is anyone's with push access to write: `group` adds them up, and two near the
 * largest number JavaScript holds (1.7e308) would make the sum Infinity, printed as "$Infinity".
 */
describe('group costs from hand-written responses', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  const ids = ['costly-one', 'costly-two', 'costly-fair'];

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    home = bus.home('alpha');
    const work = join(bus.dir, 'by-hand');
    gitCli(['clone', '-q', '-b', 'main', bus.remote, work]);
    const file = (path: string, text: string) => {
      mkdirSync(join(work, path, '..'), { recursive: true });
      writeFileSync(join(work, path), text);
    };
    const costs = ['1.7e308', '1.7e308', '0.42'];
    ids.forEach((id, i) => {
      file(`handoffs/${id}.md`, `---\ntitle: part ${i}\ngroup: ${GROUP}\nrunner: manual\n---\n`);
      file(`claims/${id}.1.md`, `---\nid: ${id}\nattempt: 1\nnode: alpha\nclaimed: ${at}\n---\n`);
      file(`responses/${id}.md`, `---\nid: ${id}\nstatus: succeeded\nnode: alpha\nattempt: 1\nfinished: ${at}\nclaude:\n  costUsd: ${costs[i]}\n---\n`);
    });
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'responses by hand'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
  }, 60_000);
  afterAll(async () => bus?.cleanup());

  it('a cost over the bound is a warning on that response, named with its field and fix; the task ended as it says, and group sums only the costs that count', async () => {
    const human = await gitbus(['group', GROUP], { home });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).not.toMatch(/Infinity|e\+/);
    expect(human.stdout).toContain('cost so far: $0.42');
    const g = json<{ costUsd: number }>(await gitbus(['group', GROUP, '--json'], { home }));
    expect(g.costUsd).toBe(0.42);
    // Not an invalid response: a task written so by an older gitbus or a person still succeeded (and one after it runs).
    const shown = json<{ state: string }>(await gitbus(['show', 'costly-one', '--json'], { home }));
    expect(shown.state).toBe('succeeded');
    const lint = json<{ problems: { path: string; field: string; severity: string; reason: string; fix: string }[] }>(await gitbus(['lint', '--json'], { home }));
    for (const id of ids.slice(0, 2)) {
      expect(lint.problems.filter((p) => p.path === `responses/${id}.md`)).toEqual([expect.objectContaining({ field: 'claude.costUsd', severity: 'warning', reason: expect.stringContaining('1000000'), fix: expect.stringContaining('1000000') })]);
    }
  });
});
