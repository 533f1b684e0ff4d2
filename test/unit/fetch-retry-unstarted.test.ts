import { describe, expect, it } from 'vitest';
import { ProjectGitError } from '../../bus/project/git.js';
import { ProjectRemoteAwayError, unstarted } from '../../watcher/workspace/fetch-retry.js';
import { BaseMissingError, baseMissingFix } from '../../watcher/workspace/cache.js';
import { keepLocalFix, WorkspaceError } from '../../watcher/workspace/worktree.js';

/**
 * How a project task's start that could not reach its project remote ends (watcher/workspace/fetch-retry.ts
 * `unstarted`, used by a worktree's start and by the merge runner's fetch and base lookup): an outage is given back
 * for another attempt, a refusal fails, a stop is a cancel.
 */
describe('a start the project remote kept from running', () => {
  const started = new Date();
  const live = new AbortController().signal;
  const outage = new ProjectGitError('git fetch failed', ['fetch'], "ssh: connect to host git.example port 22: Connection refused\nfatal: Could not read from remote repository.\n", 128, 'see git');
  const refusal = new ProjectGitError('git fetch failed', ['fetch'], 'git@git.example: Permission denied (publickey).\nfatal: Could not read from remote repository.\n', 128, 'see git');

  it('gives an outage back to be tried again, found after the first fetch as well as by the wait', () => {
    expect(unstarted(outage, started, live, 'could not integrate on n1')).toMatchObject({ status: 'failed', giveBack: expect.stringMatching(/: given back to be tried again$/) });
    const away = new ProjectRemoteAwayError('/srv/p.git', 'fatal: no route', 300_000);
    expect(unstarted(away, started, live, 'could not prepare').giveBack).toMatch(/given back to be tried again$/);
  });

  it("says the error's fix in the reason, once, within the response's 4 KiB", () => {
    const base = new BaseMissingError('the base commit abc (main) is not on the project remote /srv/p.git', baseMissingFix('main', '/srv/p.git'));
    expect(unstarted(base, started, live, 'could not prepare the project\'s worktree on w1').reason).toBe(
      "could not prepare the project's worktree on w1: the base commit abc (main) is not on the project remote /srv/p.git (fix: push main to the project remote /srv/p.git from the dispatching checkout (git push REMOTE main, REMOTE being that checkout's name for it: git remote -v lists them) and dispatch again)",
    );
    const local = new WorkspaceError('the branch b on this node holds commits that are neither on the project remote nor built on this task\'s base', keepLocalFix('/h/projects/p.git', 'b'));
    expect(unstarted(local, started, live, 'could not prepare').reason).toContain(`(fix: ${keepLocalFix('/h/projects/p.git', 'b')})`);
    // A message that carries its fix already, or a fix that says nothing more: the message alone.
    const fix = 'dispatch a new task on its branch instead';
    expect(unstarted(new WorkspaceError(`task t1 has no worktree here: ${fix}`, fix), started, live, 'could not prepare').reason).toBe(`could not prepare: task t1 has no worktree here: ${fix}`);
    expect(unstarted(new WorkspaceError('no such project', 'see above'), started, live, 'could not prepare').reason).toBe('could not prepare: no such project');
    const long = unstarted(new WorkspaceError('m'.repeat(5000), 'f'.repeat(5000)), started, live, 'could not prepare').reason ?? '';
    expect(long.length).toBeLessThan(4096);
    expect(long).toContain('(fix: fff');
  });

  it('fails a refusal at once, and a start stopped meanwhile is cancelled', () => {
    const refused = unstarted(refusal, started, live, 'could not integrate on n1');
    expect(refused.status).toBe('failed');
    expect(refused.giveBack).toBeUndefined();
    const stopped = new AbortController();
    stopped.abort();
    expect(unstarted(outage, started, stopped.signal, 'could not integrate on n1')).toMatchObject({ status: 'cancelled' });
  });
});
