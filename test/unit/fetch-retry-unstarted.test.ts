import { describe, expect, it } from 'vitest';
import { ProjectGitError } from '../../bus/project/git.js';
import { ProjectRemoteAwayError, unstarted } from '../../watcher/workspace/fetch-retry.js';

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

  it('fails a refusal at once, and a start stopped meanwhile is cancelled', () => {
    const refused = unstarted(refusal, started, live, 'could not integrate on n1');
    expect(refused.status).toBe('failed');
    expect(refused.giveBack).toBeUndefined();
    const stopped = new AbortController();
    stopped.abort();
    expect(unstarted(outage, started, stopped.signal, 'could not integrate on n1')).toMatchObject({ status: 'cancelled' });
  });
});
