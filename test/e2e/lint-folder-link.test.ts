import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, json, tempDirs } from '../helpers/cli.js';

interface Lint {
  problems: { path: string; field: string; reason: string; fix: string; severity: string }[];
}

/**
 * `gitbus lint PATH` reads a file of a checkout only where the checkout holds it: a folder of the checkout that is a
 * link (swapped in by another process after lint looked, or already there) is not followed to a file outside it,
 * whose content must appear nowhere (bus/ops/lint-place.ts; the race itself: test/integration/lint-folder-swap).
 * A checkout in a folder reached through a link of the user's is still read.
 */
describe('gitbus lint PATH reads nothing through a folder of the checkout that links out of it', () => {
  const { temp, cleanup } = tempDirs();
  const secret = 'the-secret-outside-zz9';
  let top: string;
  let co: string;

  beforeAll(async () => {
    top = realpathSync(await temp('gitbus-lint-folder-link-'));
    co = join(top, 'checkout');
    mkdirSync(join(co, 'claims'), { recursive: true });
    writeFileSync(join(co, 'gitbus.yaml'), 'protocol: 1\n');
    mkdirSync(join(top, 'outside'));
    writeFileSync(join(top, 'outside', 'ok.md'), `---\ntitle: ${secret}\n${secret}: 1\n---\n${secret}\n`);
    symlinkSync(join(top, 'outside'), join(co, 'handoffs'));
  });
  afterAll(cleanup);

  it('a file given through a folder that is a link out of the checkout is reported, not read', async () => {
    const r = await gitbus(['lint', join(co, 'handoffs', 'ok.md'), '--json']);
    expect(r.code).toBe(8);
    expect(json<Lint>(r).problems).toEqual([
      { path: 'handoffs/ok.md', field: '', reason: expect.stringMatching(/^it is not where lint looked at it in the checkout any more: a folder on its path/), fix: expect.stringContaining('lint again'), severity: 'error' },
    ]);
    expect(`${r.stdout}${r.stderr}`).not.toContain(secret);
    const human = await gitbus(['lint', join(co, 'handoffs', 'ok.md')]);
    expect(human.code).toBe(8);
    expect(`${human.stdout}${human.stderr}`).toContain('handoffs/ok.md');
    expect(`${human.stdout}${human.stderr}`).not.toContain(secret);
  });

  it('a checkout in a folder given through a link of the user\'s is read as before', async () => {
    const other = join(top, 'parent', 'other');
    mkdirSync(join(other, 'handoffs'), { recursive: true });
    writeFileSync(join(other, 'gitbus.yaml'), 'protocol: 1\n');
    writeFileSync(join(other, 'handoffs', 'bad.md'), '---\ntitle: odd\nsurprise: 1\n---\n');
    symlinkSync(join(top, 'parent'), join(top, 'via-link'));
    for (const target of [join(top, 'via-link', 'other', 'handoffs', 'bad.md'), join(top, 'via-link', 'other')]) {
      const r = await gitbus(['lint', target, '--json']);
      expect(json<Lint>(r).problems, target).toContainEqual(expect.objectContaining({ path: 'handoffs/bad.md', field: 'surprise' }));
      expect(json<Lint>(r).problems.map((p) => p.reason).join('\n'), target).not.toContain('not where lint looked');
    }
  });
});
