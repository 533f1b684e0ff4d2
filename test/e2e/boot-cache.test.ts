import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type RunResult, commandsAsProcesses } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { BOOT_CACHE_FILE, codeCacheRuns, expectDamagedInstall } from '../helpers/code-cache-runs.js';

// Every command here runs as a process: how bin/gitbus.js compiles the boot is the subject.
commandsAsProcesses();

/**
 * The boot's V8 code cache, which the build makes (scripts/boot-cache.mjs) and bin/gitbus.js hands V8 with the boot:
 * used when it was made from this boot's text, else the boot is compiled from its text, with the same result.
 */
describe('the boot from the code cache the build made (bin/gitbus.js)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bus: Awaited<ReturnType<typeof makeBus>>;

  beforeAll(async () => {
    dir = await tempDir('gitbus-boot-cache-');
    bus = await makeBus({ node: 'solo' });
    await bus.dispatch('solo', ['a task to list']);
  });
  afterAll(async () => {
    await bus?.cleanup();
    await dir?.cleanup();
  });

  const { run, packageCopy } = codeCacheRuns(() => dir.path, () => bus.home('solo'));
  const flipped = (bytes: Buffer, at: number): Buffer => {
    const copy = Buffer.from(bytes);
    copy[at] = (copy[at] ?? 0) ^ 0xff;
    return copy;
  };
  const statusOf = (r: RunResult): string => {
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.replace(/"windowMs": \d+/, '');
  };

  it('is used when it was made from the boot beside it, and a boot changed, a cache gone or cut short, or other V8 flags start from the text, the same (GITBUS_CODE_CACHE=0: test/e2e/code-cache.test.ts)', async () => {
    const { bin, cli } = packageCopy('boot');
    const args = ['status', '--json', '--home', bus.home('solo')];
    const cache = join(dir.path, 'boot-cache');
    const used = await run(args, cache, { bin });
    expect(used.report).toMatchObject({ command: 'status', boot: 'accepted' });
    const expected = statusOf(used.r);
    // V8 refuses a cache made under other flags; the boot runs from its text.
    const flags = await run(args, cache, { bin, env: { NODE_OPTIONS: '--max-old-space-size=1000' } });
    expect(flags.report).toMatchObject({ boot: 'rejected' });
    expect(statusOf(flags.r)).toBe(expected);
    const cacheFile = join(dir.path, 'boot', BOOT_CACHE_FILE);
    const bytes = readFileSync(cacheFile);
    const boot = join(cli, 'gitbus-boot.cjs');
    const text = readFileSync(boot, 'latin1');
    const cases: Array<[string, () => void]> = [
      // The same length, one character other: V8 checks only the length, so the text it was made from is compared.
      ['a boot changed', () => writeFileSync(boot, text.replace('is damaged: ', 'is Damaged: '), 'latin1')],
      ['a cache cut short', () => writeFileSync(cacheFile, bytes.subarray(0, bytes.length - 100))],
      // V8 sums none of the data, and a byte changed in it could kill the process: the file holds it twice.
      ['a byte of the cache changed', () => writeFileSync(cacheFile, flipped(bytes, Math.ceil(text.length / 8) * 8 + 5000))],
      ['a byte of its copy changed', () => writeFileSync(cacheFile, flipped(bytes, bytes.length - 2000))],
      ['a cache emptied', () => writeFileSync(cacheFile, '')],
      ['no cache', () => rmSync(cacheFile)],
    ];
    for (const [what, change] of cases) {
      writeFileSync(boot, text, 'latin1');
      writeFileSync(cacheFile, bytes);
      change();
      const r = await run(args, cache, { bin });
      expect(r.report.boot, what).toBe('none');
      expect(statusOf(r.r), what).toBe(expected);
    }
  });

  it('a boot emptied, cut short or gone says the installation is damaged and exits 7, not with a stack', async () => {
    const { bin, cli } = packageCopy('damaged-boot');
    const boot = join(cli, 'gitbus-boot.cjs');
    const text = readFileSync(boot, 'latin1');
    const cases: Array<[string, () => void, string]> = [
      ['emptied', () => writeFileSync(boot, ''), 'it is not the boot'],
      ['cut short', () => writeFileSync(boot, text.slice(0, 5_000), 'latin1'), 'it does not compile (SyntaxError: '],
      ['gone', () => rmSync(boot), 'it cannot be read (ENOENT)'],
    ];
    await expectDamagedInstall(bin, boot, bus.home('solo'), join(dir.path, 'damaged-boot-cache'), cases);
  });
});
