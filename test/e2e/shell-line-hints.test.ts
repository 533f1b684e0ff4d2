import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { gitbus, json } from '../helpers/cli.js';
import { readRefs } from '../helpers/refs.js';
import { until } from '../helpers/wait.js';
import { startWatcher } from '../helpers/watcher-process.js';

/**
 * `gitbus run NODE ARG...` runs each argument as one word, without a shell (documented), so a shell line given as one
 * argument is a program nobody has: exit 127 and "sh: 1: ls | wc -l: not found", nothing more. And `gitbus dispatch
 * "t" -- make test` is "too many arguments". Each now says the command line that does what was meant.
 */
type Bus = Awaited<ReturnType<typeof makeBus>>;
let bus: Bus;
const children: ChildProcess[] = [];

beforeAll(async () => {
  bus = await makeBus({ node: 'laptop' });
  const tw = await bus.addNode('tw', [], ['--runner', 'shell']);
  const w = startWatcher(tw, ['--poll', '1s', '--no-serve'], children);
  await until("tw's watcher beating", () => readRefs(bus.remote, 'refs/gitbus/heartbeats/').has('tw'), 60_000, () => w.stderr());
}, 90_000);
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

describe('a shell line where one word goes', () => {
  it('run: a lone argument with shell syntax that exits 127 gets the line that gives it to sh, which works', async () => {
    const r = await gitbus(['run', 'tw', 'ls | wc -l'], { home: bus.home('laptop') });
    expect(r.code, r.stderr).toBe(127);
    expect(r.stderr).toContain(`gitbus: hint: each argument of "gitbus run" is one word of the command, run without a shell, so 'ls | wc -l' was taken for the name of a program, which tw does not have (exit 127); for a shell line, give it to sh: gitbus run tw -- sh -c 'ls | wc -l'`);
    const j = await gitbus(['run', 'tw', '--json', 'echo $HOME'], { home: bus.home('laptop') });
    expect(j.code, j.stderr).toBe(127);
    expect(json<{ hint?: string }>(j).hint).toContain(`gitbus run tw -- sh -c 'echo $HOME'`);

    const fixed = await gitbus(['run', 'tw', '--', 'sh', '-c', 'ls | wc -l'], { home: bus.home('laptop') });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout.trim()).toMatch(/^\d+$/);
    // A program that is missing, named as one plain word, is only that.
    const missing = await gitbus(['run', 'tw', '--', 'no-such-program-here'], { home: bus.home('laptop') });
    expect(missing.code).toBe(127);
    expect(missing.stderr).not.toContain('hint');
  }, 90_000);

  it('dispatch: a command after -- is "too many arguments", with the --command that carries it', async () => {
    const r = await gitbus(['dispatch', 't', '--', 'make', 'test'], { home: bus.home('laptop') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("too many arguments for 'dispatch'");
    expect(r.stderr).toContain(`a task's command goes in --command, as one shell line: gitbus dispatch t --command 'make test'`);
    const j = await gitbus(['dispatch', 'Run the tests', '--json', '--', 'make', 'test'], { home: bus.home('laptop') });
    expect(j.code).toBe(2);
    expect(json<{ error: { fix: string } }>(j).error.fix).toContain(`gitbus dispatch 'Run the tests' --json --command 'make test'`);
    // A title of several words not quoted: the same error, saying that the title is one argument.
    const words = await gitbus(['dispatch', 'Run', 'the', 'tests'], { home: bus.home('laptop') });
    expect(words.code).toBe(2);
    expect(words.stderr).toContain(`the title is one argument: quote it (gitbus dispatch 'Run the tests'), and a task's command goes in --command`);
  });
});
