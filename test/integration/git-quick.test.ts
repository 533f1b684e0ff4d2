import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../../bus/project/git.js';
import { gitQuick } from '../../bus/project/git-quick.js';
import { gitCli, ROOT, tempDirs } from '../helpers/cli.js';

const dirs = tempDirs();
afterAll(dirs.cleanup);

/** What a run gave: its answer, or its error's code, exit code and detail (ProjectGitError). */
async function outcome(run: Promise<{ stdout: string; stderr: string; code: number }>): Promise<unknown> {
  try {
    return await run;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number | null; message?: string };
    return { error: e.code, exitCode: e.exitCode, message: e.message };
  }
}

/**
 * The look's git commands with their output to files (bus/project/git-quick.ts) answer and fail as git() does
 * through pipes, and leave nothing behind in the temp folder.
 */
describe('git with its output to files', () => {
  it('answers and fails as git() does: output, okCodes, an exit code with its message, a folder that is no repository', async () => {
    const repo = await dirs.temp('gitbus-quick-');
    gitCli(['init', '-q', '-b', 'main', repo]);
    writeFileSync(join(repo, 'ünï code.txt'), 'x\n');
    gitCli(['add', '.'], repo);
    gitCli(['commit', '-q', '-m', 'first ✓'], repo);
    const outside = await dirs.temp('gitbus-quick-none-');
    const cases: { args: string[]; cwd: string; okCodes?: number[] }[] = [
      { args: ['log', '--oneline', '-5'], cwd: repo },
      { args: ['status', '--porcelain=v2', '--branch', '--no-ahead-behind'], cwd: repo },
      { args: ['config', '-z', '--get-regexp', '^nothing\\.here$'], cwd: repo, okCodes: [1] },
      { args: ['config', '-z', '--get-regexp', '^nothing\\.here$'], cwd: repo },
      { args: ['rev-parse', '--show-toplevel'], cwd: outside },
      { args: ['no-such-command'], cwd: repo },
    ];
    for (const c of cases) {
      const o = { cwd: c.cwd, ...(c.okCodes ? { okCodes: c.okCodes } : {}) };
      const [quick, piped] = [await outcome(gitQuick(c.args, o)), (await outcome(git(c.args, o))) as { message?: string }];
      // git() words a failure without stderr with Node's "Command failed: <the command line>"; here it says the exit code.
      if (piped.message?.includes('Command failed')) expect(quick, c.args.join(' ')).toEqual({ ...piped, message: expect.stringMatching(/: exit code \d+\n/) });
      else expect(quick, c.args.join(' ')).toEqual(piped);
    }
    expect(await outcome(gitQuick(['log', '--format=%s'], { cwd: repo }))).toMatchObject({ stdout: 'first ✓\n', code: 0 });
    expect(await outcome(gitQuick(['rev-parse', '--show-toplevel'], { cwd: outside }))).toMatchObject({ error: 'PROJECT_GIT', exitCode: 128, message: expect.stringMatching(/not a git repository/) });
  });

  it('stops a command past its time, refuses output past its limit, and leaves no file in the temp folder', async () => {
    const tmp = await dirs.temp('gitbus-quick-tmp-');
    const repo = await dirs.temp('gitbus-quick-');
    gitCli(['init', '-q', repo]);
    const before = process.env['TMPDIR'];
    process.env['TMPDIR'] = tmp;
    try {
      // An alias that runs longer than the bound: git is killed, as git() kills it. Its output goes to a folder in
      // TMPDIR, made before the command starts.
      const running = gitQuick(['-c', 'alias.wait=!sleep 1', 'wait'], { cwd: repo, timeoutMs: 200 });
      expect(readdirSync(tmp)).toEqual([expect.stringMatching(/^gitbus-git-/)]);
      expect(await outcome(running)).toMatchObject({ error: 'PROJECT_GIT', exitCode: null, message: expect.stringMatching(/did not finish in time/) });
      // Killed by something else: the signal is the reason.
      const killed = await outcome(gitQuick(['-c', 'alias.die=!kill -9 $PPID', 'die'], { cwd: repo }));
      expect(killed).toMatchObject({ error: 'PROJECT_GIT', exitCode: null, message: expect.stringMatching(/killed by SIGKILL/) });
      expect(await outcome(gitQuick(['--version'], { cwd: repo, maxBuffer: 5 }))).toMatchObject({ error: 'PROJECT_GIT', exitCode: null, message: expect.stringMatching(/larger than gitbus reads/) });
      expect(await outcome(gitQuick(['--version'], { cwd: repo }))).toMatchObject({ stdout: expect.stringMatching(/^git version /), code: 0 });
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      if (before === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = before;
    }
  });

  it('runs through pipes where the temp folder cannot be written, and says git is missing as git() says it', async () => {
    const repo = await dirs.temp('gitbus-quick-');
    gitCli(['init', '-q', repo]);
    const file = join(repo, 'case.mjs');
    const dist = (p: string) => JSON.stringify(join(ROOT, 'dist', p));
    writeFileSync(
      file,
      `import { gitQuick } from ${dist('bus/project/git-quick.js')};
      import { git } from ${dist('bus/project/git.js')};
      const outcome = (p) => p.then((r) => r, (e) => ({ error: e.code, exitCode: e.exitCode, message: e.message }));
      process.stdout.write(JSON.stringify([await outcome(gitQuick(['rev-parse', '--git-dir'], { cwd: ${JSON.stringify(repo)} })), await outcome(git(['rev-parse', '--git-dir'], { cwd: ${JSON.stringify(repo)} }))]));`,
    );
    const run = (env: NodeJS.ProcessEnv) => JSON.parse(execFileSync(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 })) as [unknown, unknown];
    const readOnly = join(repo, 'not-a-folder');
    writeFileSync(readOnly, 'a file where the temp folder would be');
    const [quick, piped] = run({ TMPDIR: readOnly });
    expect(quick).toEqual(piped);
    expect(quick).toMatchObject({ stdout: '.git\n', code: 0 });
    mkdirSync(join(repo, 'empty-bin'));
    const [quickMissing, pipedMissing] = run({ PATH: join(repo, 'empty-bin') });
    expect(quickMissing).toEqual(pipedMissing);
    expect(quickMissing).toMatchObject({ error: 'PROJECT_GIT', message: expect.stringMatching(/git is not installed/) });
  });
});
