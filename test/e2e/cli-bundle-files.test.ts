import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLI, ROOT } from '../helpers/cli.js';

/** What the build wrote into dist/cli/: the files every command starts from (scripts/bundle.mjs). */
describe('CLI bundle', () => {
  it('holds no absolute path of the folder it was built in, so its code cache key is the same wherever it is built', () => {
    const buildDir = ROOT.replace(/\/$/, '');
    for (const f of ['gitbus.cjs', 'gitbus-bus.cjs', 'gitbus-read.cjs', 'gitbus-dispatch.cjs', 'gitbus-claude.cjs', 'gitbus-schemas.cjs', 'gitbus-loader.cjs', 'gitbus.mjs']) expect(readFileSync(join(dirname(CLI), f), 'utf8').includes(buildDir), f).toBe(false);
  });

  it('every file of dist/cli/ is pure ASCII (V8 scans anything else as UTF-16)', () => {
    const cliDir = dirname(CLI);
    const files = readdirSync(cliDir).filter((f) => f.endsWith('.mjs') || f.endsWith('.cjs'));
    expect(files).toEqual(expect.arrayContaining(['gitbus.mjs', 'gitbus.cjs', 'gitbus-bus.cjs', 'gitbus-read.cjs', 'gitbus-dispatch.cjs', 'gitbus-claude.cjs', 'gitbus-schemas.cjs', 'gitbus-loader.cjs']));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const bytes = readFileSync(join(cliDir, f));
      const at = bytes.findIndex((b) => b > 0x7f);
      expect(at, `${f}: byte ${at} is not ASCII: ${bytes.subarray(Math.max(0, at - 40), at + 10).toString('utf8')}`).toBe(-1);
    }
  });
});
