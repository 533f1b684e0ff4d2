import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, gitbus, gitCli, json, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { makeProject, pushApartBranches } from '../helpers/project.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';

/**
 * `dispatch --wait` of project work says where the results are, not only that the run succeeded: a branch the
 * project remote refused (pushed: false) or results that went beside the branch announced (`-moved-`) are said
 * on stderr after the success line, and `--json`'s `project` is the response's report. Real git, a watcher process.
 */
type Outcome = { repo: string; branch: string; headCommit: string; pushed: boolean; pushError?: string; askedBranch?: string };

let bus: Awaited<ReturnType<typeof makeBus>>;
let project: ReturnType<typeof makeProject>;
let watcher: WatcherProcess;
const children: ChildProcess[] = [];

beforeAll(async () => {
  bus = await makeBus();
  project = makeProject(bus.dir);
  await bus.addNode('w1', [], ['--runner', 'shell', '--runner', 'claude']);
  // The project remote refuses the branches of tasks whose id says so, as a host rule would.
  const hook = join(project.remote, 'hooks', 'pre-receive');
  writeFileSync(hook, '#!/bin/sh\nwhile read old new ref; do case "$ref" in *refused*) echo "pushes are closed today" >&2; exit 1;; esac; done\n');
  chmodSync(hook, 0o755);
  const claudeEnv = { GITBUS_CLAUDE_BIN: join(ROOT, 'test/fixtures/claude-standin.mjs'), CLAUDE_STANDIN_SESSIONS: join(bus.dir, 'sessions') };
  watcher = startWatcher(bus.home('w1'), ['--poll', '1s', '--retry', '1s'], children, claudeEnv);
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await watcher?.exited;
  await bus?.cleanup();
});

async function dispatchWait(id: string, args: string[], json: boolean): Promise<RunResult> {
  const r = await gitbus(['dispatch', `work of ${id}`, '--id', id, '--to', 'w1', '--repo', project.remote, '--command', 'echo done > done.txt', ...args, '--wait', ...(json ? ['--json'] : [])], { home: bus.home('alpha'), timeoutMs: 90_000 });
  // A success of the run: the exit code stays 0 (README, exit codes); what became of the branch is said apart.
  expect(r.code, `${r.stderr}\n${watcher.stderr()}`).toBe(0);
  return r;
}

describe('dispatch --wait of project work', () => {
  it('a branch the project remote refused: stderr says it is not pushed, after the success line, and --json has the report', async () => {
    const text = await dispatchWait('pw-refused-text', [], false);
    const success = text.stderr.indexOf('succeeded on w1 (attempt 1)');
    const warning = text.stderr.indexOf(`gitbus: warning: pw-refused-text's branch gitbus/pw-refused-text of ${project.remote} is not pushed yet: `);
    expect(success, text.stderr).toBeGreaterThanOrEqual(0);
    expect(warning, text.stderr).toBeGreaterThan(success);
    expect(text.stderr).toContain('pushes are closed today');

    const r = await dispatchWait('pw-refused-json', [], true);
    const out = json<{ state: string; project: Outcome }>(r);
    expect(out.state).toBe('succeeded');
    expect(out.project).toMatchObject({ repo: project.remote, branch: 'gitbus/pw-refused-json', pushed: false, headCommit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(out.project.pushError).toContain('pushes are closed today');
    expect(out.project.askedBranch).toBeUndefined();
  }, 120_000);

  it('results that went beside the branch announced: stderr names where they are, and --json has that branch and the one asked for', async () => {
    // A person's branch with a history of its own, without main's commit: the results cannot be a fast-forward of it.
    pushApartBranches(bus.dir, project.remote, ['slow/one', 'slow/two']);

    const r = await dispatchWait('pw-beside-json', ['--base', 'main', '--branch', 'slow/one'], true);
    const p = json<{ project: Outcome }>(r).project;
    expect(p).toMatchObject({ branch: `slow/one-moved-${p.headCommit.slice(0, 8)}`, askedBranch: 'slow/one', pushed: true });

    const text = await dispatchWait('pw-beside-text', ['--base', 'main', '--branch', 'slow/two'], false);
    expect(text.stderr).toMatch(new RegExp(`gitbus: warning: pw-beside-text's results went beside slow/two, to branch slow/two-moved-[0-9a-f]{8} of ${project.remote.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: they were not a fast-forward of slow/two`));
    expect(text.stderr.indexOf('went beside')).toBeGreaterThan(text.stderr.indexOf('succeeded on w1'));
  }, 120_000);

  it('run --repo says the same: --json has the project outcome, and stderr warns when it is not pushed or went beside', async () => {
    const r = await gitbus(['run', 'w1', '--repo', project.remote, '--branch', 'refused/run', '--json', '--', 'sh', '-c', 'echo done > done.txt'], { home: bus.home('alpha'), timeoutMs: 90_000 });
    expect(r.code, `${r.stderr}\n${watcher.stderr()}`).toBe(0);
    const out = json<{ id: string; status: string; exitCode: number; project: Outcome }>(r);
    expect(out).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(out.project).toMatchObject({ repo: project.remote, branch: 'refused/run', pushed: false, headCommit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(out.project.pushError).toContain('pushes are closed today');
    expect(out.project.askedBranch).toBeUndefined();
    // --json's stderr carries no warning: the outcome is in the document.
    expect(r.stderr).not.toContain('gitbus: warning:');

    pushApartBranches(bus.dir, project.remote, ['slow/run']);
    const text = await gitbus(['run', 'w1', '--repo', project.remote, '--base', 'main', '--branch', 'slow/run', '--', 'sh', '-c', 'echo done > done.txt'], { home: bus.home('alpha'), timeoutMs: 90_000 });
    expect(text.code, `${text.stderr}\n${watcher.stderr()}`).toBe(0);
    expect(text.stderr).toMatch(/gitbus: warning: \S+'s results went beside slow\/run, to branch slow\/run-moved-[0-9a-f]{8} of /);
    expect(text.stderr.indexOf('went beside')).toBeGreaterThan(text.stderr.indexOf('succeeded on w1'));
    const beside = await gitbus(['run', 'w1', '--repo', project.remote, '--base', 'main', '--branch', 'slow/run', '--json', '--', 'sh', '-c', 'echo again > again.txt'], { home: bus.home('alpha'), timeoutMs: 90_000 });
    const p = json<{ project: Outcome }>(beside).project;
    expect(p).toMatchObject({ branch: `slow/run-moved-${p.headCommit.slice(0, 8)}`, askedBranch: 'slow/run', pushed: true });
  }, 180_000);

  it('resume --wait says the same of the resumed run: its results went beside a branch someone else pushed to', async () => {
    const first = await gitbus(['dispatch', 'start', '--id', 'pw-session', '--to', 'w1', '--repo', project.remote, '--runner', 'claude', '--branch', 'agent/work', '--body-file', '-', '--wait', '--json'], { home: bus.home('alpha'), input: 'Start.\n@write one.txt one\n@commit step one\n', timeoutMs: 90_000 });
    expect(first.code, `${first.stderr}\n${watcher.stderr()}`).toBe(0);
    expect(json<{ project: Outcome }>(first).project).toMatchObject({ branch: 'agent/work', pushed: true });
    // Someone else pushes to the branch: the resumed run, in the worktree as the first left it, is no fast-forward of it.
    const other = join(bus.dir, 'other-work');
    gitCli(['clone', '-q', '--branch', 'agent/work', project.remote, other]);
    gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-q', '--allow-empty', '-m', 'theirs'], other);
    gitCli(['push', '-q', 'origin', 'agent/work'], other);

    const r = await gitbus(['resume', 'pw-session', 'continue\n@write two.txt two\n@commit step two', '--wait', '--json'], { home: bus.home('alpha'), timeoutMs: 90_000 });
    expect(r.code, `${r.stderr}\n${watcher.stderr()}`).toBe(0);
    const out = json<{ state: string; resumes: string; project: Outcome }>(r);
    expect(out).toMatchObject({ state: 'succeeded', resumes: 'pw-session' });
    expect(out.project).toMatchObject({ repo: project.remote, branch: `agent/work-moved-${out.project.headCommit.slice(0, 8)}`, askedBranch: 'agent/work', pushed: true });
  }, 120_000);
});
