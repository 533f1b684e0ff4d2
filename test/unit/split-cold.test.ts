import { describe, it, expect, beforeAll } from 'vitest';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

type ColdReadsOf = (lines: string[], bundle: string, commands: string[]) => Set<string>;

/**
 * What scripts/cold-modules.mjs learns from its runs' reports (scripts/split-cold.mjs coldReadsOf): a module read
 * stays in the bundle, so a run that never ran the bundle's cold script must not count as one that read nothing.
 */
describe("a cold script's reads, from the runs' reports (scripts/split-cold.mjs coldReadsOf)", () => {
  let coldReadsOf: ColdReadsOf;
  beforeAll(async () => {
    // A variable specifier: the script is plain JavaScript, without types.
    const script = join(ROOT, 'scripts', 'split-cold.mjs');
    ({ coldReadsOf } = (await import(script)) as { coldReadsOf: ColdReadsOf });
  });
  const line = (r: object): string => JSON.stringify(r);

  it('are the modules the runs of the commands read, other commands aside', () => {
    const lines = [
      line({ command: 'init', cache: 'none', bundle: 'gitbus-bus.cjs' }),
      line({ command: 'dispatch', cache: 'none', bundle: 'gitbus-dispatch.cjs', cold: 'unused' }),
      line({ command: 'dispatch', cache: 'accepted', bundle: 'gitbus-dispatch.cjs', cold: 'none', coldReads: ['dist/cli/exit.js', 'dist/bus/progress.js'] }),
    ];
    expect([...coldReadsOf(lines, 'dispatch', ['dispatch'])].sort()).toEqual(['dist/bus/progress.js', 'dist/cli/exit.js']);
  });

  it('refuse a run of the ES module build (GITBUS_CODE_CACHE=0 in the shell), which reads no cold script', () => {
    const lines = [line({ command: 'dispatch', cache: 'off', written: false })];
    expect(() => coldReadsOf(lines, 'dispatch', ['dispatch'])).toThrow(/did not run dist\/cli\/gitbus-dispatch\.cjs with its cold script/);
  });

  it('refuse reports without a run of the commands', () => {
    expect(() => coldReadsOf([line({ command: 'init', cache: 'none', bundle: 'gitbus-bus.cjs' })], 'dispatch', ['dispatch'])).toThrow(/no run of dispatch/);
  });
});
