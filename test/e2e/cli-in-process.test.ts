import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gitbus, json, tempDirs } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

/**
 * The suite runs most commands in the test's own process (test/helpers/cli-in-process.ts): a command there must
 * print and exit as its own process does, and leave the test's process as it found it.
 */
const { temp, cleanup } = tempDirs();
afterAll(cleanup);

describe("commands in the test's own process", () => {
  it('print the same and exit the same as in a process of their own, and leave the environment, folder, arguments and exit code as they were', async () => {
    const bus = await makeBus();
    try {
      const home = bus.home(bus.first);
      const before = { env: { ...process.env }, cwd: process.cwd(), argv: [...process.argv], exitCode: process.exitCode, sigint: process.listenerCount('SIGINT') };
      const cwd = await temp('gitbus-in-process-');
      const lines: [string[], { home?: string; cwd?: string }][] = [
        [['dispatch', 'same either way', '--id', 'same-1', '--no-git', '--json'], { home, cwd }],
        [['show', 'same-1', '--json'], { home }],
        [['lint', '--json'], { home }],
        [['show', 'nope', '--json'], { home }],
        [['status', '--json'], { home: join(cwd, 'no-bus') }],
        [['claim', '--bogus'], { home }],
      ];
      for (const [args, opts] of lines) {
        const here = await gitbus(args, opts);
        if (args[0] === 'dispatch') {
          expect(here.code, here.stderr).toBe(0);
          expect(json<{ id: string }>(here).id).toBe('same-1');
          const again = await gitbus(['dispatch', 'same either way', '--id', 'same-2', '--no-git', '--json'], { ...opts, process: true });
          expect(json<{ id: string }>(again).id).toBe('same-2');
          continue;
        }
        const there = await gitbus(args, { ...opts, process: true });
        expect({ code: here.code, stdout: here.stdout, stderr: here.stderr }, args.join(' ')).toEqual({ code: there.code, stdout: there.stdout, stderr: there.stderr });
      }
      expect(process.env).toEqual(before.env);
      expect(process.cwd()).toBe(before.cwd);
      expect(process.argv).toEqual(before.argv);
      expect(process.exitCode).toBe(before.exitCode);
      expect(process.listenerCount('SIGINT')).toBe(before.sigint);
    } finally {
      await bus.cleanup();
    }
  });
});
