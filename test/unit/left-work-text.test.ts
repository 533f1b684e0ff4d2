import { describe, expect, it } from 'vitest';
import { endedOffWarning, leftWorkWarnings, madeByRun } from '../../watcher/workspace/left-work.js';
import { recordLeftOut } from '../../watcher/workspace/left-record.js';
import type { WorktreeRecord } from '../../watcher/workspace/registry.js';

const BASE = 'b'.repeat(40);
const HEAD = 'h'.repeat(40);
const record: WorktreeRecord = { key: 'k1', path: '/home/n/worktrees/k1', repo: 'proj', url: '/p.git', gitDir: '/home/n/projects/p.git', branch: 'gitbus/k1', baseCommit: BASE, tasks: ['k1'], created: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:00:00Z' };

describe('madeByRun', () => {
  it('counts reflog entries that made a commit, not moves of HEAD to commits that were there', () => {
    const made = ['commit: x', 'commit (amend): x', 'commit (merge): x', 'commit (initial): x', "merge y: Merge made by the 'ort' strategy.", 'cherry-pick: x', 'revert: Revert "x"', 'am: x', 'rebase (pick): x', 'rebase -i (squash): x', 'pull: Merge made by the \'ort\' strategy.', 'commit: Fast-forward', 'commit: note (start)'];
    const moved = ['checkout: moving from a to b', 'reset: moving to HEAD~1', 'merge y: Fast-forward', 'pull: Fast-forward', 'rebase (start): checkout main', 'rebase (finish): returning to refs/heads/x', 'rebase (abort): returning to refs/heads/x', '', 'branch: Created from HEAD'];
    expect(made.filter(madeByRun)).toEqual(made);
    expect(moved.filter(madeByRun)).toEqual([]);
  });
});

describe('the Branch section warnings of work left off the result', () => {
  it('a detached HEAD is said as one, and a ref outside refs/heads by its whole name, quoted', () => {
    expect(endedOffWarning(record, null, HEAD, 'n1')).toMatch(/^the run ended on a detached HEAD, not on its task branch gitbus\/k1: gitbus delivers the worktree's HEAD, so the result given as gitbus\/k1 is that HEAD, hhhhhhhhhhhh,/);
    expect(endedOffWarning(record, 'refs/remotes/origin/main', HEAD, 'n1')).toMatch(/^the run ended on "refs\/remotes\/origin\/main", not on/);
  });

  it('names three branches one by one and counts the rest', () => {
    const left = ['a', 'b', 'c', 'd'].map((branch) => ({ branch, commits: 2, tip: branch.repeat(40) }));
    const warnings = leftWorkWarnings(record, { left, more: 1, notes: [] }, HEAD, 'n1');
    expect(warnings.map((w) => w.slice(0, 40))).toEqual(['the run made 2 commits on the branch "a"', 'the run made 2 commits on the branch "b"', 'the run made 2 commits on the branch "c"', 'the run left such commits on 2 more bran']);
    expect(warnings[0]).toContain('that are not in the result hhhhhhhhhhhh nor on the project remote');
  });
});

describe('recordLeftOut', () => {
  it('adds what a run left, once per commit, and leaves a record without any as it was', () => {
    expect(recordLeftOut(record, 'k1', [])).toBe(record);
    const once = recordLeftOut(record, 'k1', [{ branch: 'x', commits: 1, tip: 'a'.repeat(40) }]);
    const twice = recordLeftOut(once, 'k2', [{ branch: 'x', commits: 2, tip: 'a'.repeat(40) }, { branch: 'y', commits: 1, tip: 'c'.repeat(40) }]);
    expect(twice.leftOut).toEqual([{ branch: 'x', tip: 'a'.repeat(40), task: 'k2' }, { branch: 'y', tip: 'c'.repeat(40), task: 'k2' }]);
  });
});
