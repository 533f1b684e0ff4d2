import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { gitbus, json, tempDir } from '../helpers/cli.js';

/** `--max-budget-usd` is refused above the bound a handoff's claude.maxBudgetUsd has, before any bus is read. */
describe('dispatch --max-budget-usd above the bound', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('gitbus-budget-');
  });
  afterAll(async () => {
    await dir?.cleanup();
  });

  it('is refused with the flag, the value and the bound', async () => {
    const r = await gitbus(['dispatch', 'spend', '--max-budget-usd', '2000000', '--no-git', '--json'], { home: join(dir.path, 'none') });
    expect(json<{ error: { code: string; message: string; fix: string } }>(r).error).toEqual(
      expect.objectContaining({ code: 'BAD_INPUT', message: expect.stringContaining('--max-budget-usd "2000000"'), fix: expect.stringContaining('above 0 and at most 1000000') }),
    );
  });
});
