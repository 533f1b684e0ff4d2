import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { claimInProcess } from '../helpers/in-process.js';
import { pushFiles } from '../helpers/push-access.js';

/**
 * A result written in the name of a node other than the claim's holder (untrusted-input finding F12): accepted as
 * the bus's result, as before, but lint and status say so.
 */
describe('a response by a node other than the holder', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let id: string;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    id = await bus.dispatch('alpha', ['the real work']);
    await claimInProcess(bus.home('alpha'), id);
    const work = join(bus.dir, 'forger');
    gitCli(['clone', '-q', '-b', 'main', bus.remote, work]);
    pushFiles(work, { [`responses/${id}.md`]: `---\nid: ${id}\nstatus: succeeded\nnode: mallory\nattempt: 1\nfinished: 2026-12-02T00:00:00Z\n---\n## Summary\n\nall good\n` }, 'done, says mallory');
  });
  afterAll(async () => bus?.cleanup());

  it('is a warning naming the file, both nodes and how to find the writer', async () => {
    const r = await gitbus(['lint', '--json'], { home: bus.home('alpha') });
    expect(r.code, r.stdout).toBe(0);
    expect(json<{ problems: { path: string; field: string; reason: string; fix: string; severity: string }[] }>(r).problems).toEqual([
      expect.objectContaining({ path: `responses/${id}.md`, field: 'node', severity: 'warning', reason: expect.stringContaining('node mallory wrote it, but attempt 1 was claimed by alpha'), fix: expect.stringContaining(`git log -- responses/${id}.md`) }),
    ]);
  });
});
