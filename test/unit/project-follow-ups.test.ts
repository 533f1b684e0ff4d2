import { describe, it, expect } from 'vitest';
import { pushedNothing, unfinishedResolve } from '../../schemas/project.js';
import { notPushedWords, RESOLVE_NOT_PUSHED } from '../../bus/project/push-state.js';
import { branchSection } from '../../bus/ops/respond.js';
import { dispatchedEarlier, newestDispatched, resolvesIntegration, settlingFollowUp, unmergedBranches } from '../../bus/model/merged-branches.js';
import { followUpKind, incompleteResolves, settlement } from '../../bus/ops/group.js';
import { dispatchedBefore } from '../../bus/model/merged-branches.js';
import { groupText } from '../../cli/commands/group.js';

describe('a resolve follow-up counts by what its branch contains', () => {
  const merge = ['g/a', 'g/b'];
  it('of several resolving follow-ups, group and resolve name the one on the branch itself, else the newest; superseded is judged against the newest', () => {
    const base = { title: 't', workstream: null, node: 'w', attempt: 1, session: null, costUsd: null, waitingFor: [], archived: null, resumes: null, created: null, remote: '/r.git', runner: 'claude' };
    const report = { repo: '/r.git', branch: 'g/integration', baseCommit: 'a'.repeat(40), headCommit: 'b'.repeat(40), pushed: true, merged: merge };
    const integration = { ...base, id: '20261204-100000-iiiiii', state: 'failed' as const, runner: 'merge', branch: 'g/integration', reason: 'conflicts', project: { ...report, pushed: false, conflicts: [{ branch: 'g/b', files: ['x'] }] } };
    // An older resolve whose push landed later, beside the branch a newer one had taken meanwhile (a delivery).
    const beside = `g/integration-moved-${'c'.repeat(8)}`;
    const older = { ...base, id: '20261204-110000-olderr', state: 'succeeded' as const, branch: beside, reason: null, project: { ...report, branch: beside, headCommit: 'c'.repeat(40) } };
    const failed = { ...base, id: '20261204-120000-failed', state: 'failed' as const, branch: 'g/integration', reason: 'resolve again', project: { ...report, merged: [] } };
    const newer = { ...base, id: '20261204-130000-newerr', state: 'succeeded' as const, branch: 'g/integration', reason: null, project: report };
    expect(settlement(integration, merge, [older, failed, newer])).toMatchObject({ resolvedBy: newer.id, superseded: [failed.id] });
    expect(settlingFollowUp('g/integration', [older, newer])?.id).toBe(newer.id);
    // Only beside it: the newest of those.
    const besideToo = { ...older, id: '20261204-140000-besid2' };
    expect(settlement(integration, merge, [older, failed, besideToo])).toMatchObject({ resolvedBy: besideToo.id, superseded: [failed.id] });
    // The branch itself wins even when an older task is on it and a newer one went beside it.
    const ownOld = { ...newer, id: '20261204-105000-ownold' };
    expect(settlement(integration, merge, [ownOld, failed, besideToo])).toMatchObject({ resolvedBy: ownOld.id, superseded: [failed.id] });
    expect(settlingFollowUp('g/integration', [besideToo, ownOld])?.id).toBe(ownOld.id);
  });

  it('lists the branches of merge its response does not say it holds; a response without merged is taken at its word', () => {
    expect(unmergedBranches(merge, { merged: [] })).toEqual(['g/a', 'g/b']);
    expect(unmergedBranches(merge, { merged: ['g/a'] })).toEqual(['g/b']);
    // The merge runner names a branch that had moved by where its results went.
    expect(unmergedBranches(merge, { merged: ['g/a-moved-1234abcd', 'g/b'] })).toEqual([]);
    expect(unmergedBranches(merge, {})).toBeNull();
    expect(unmergedBranches(merge, null)).toBeNull();
  });

  it('group counts none that lacks a workstream, and says which it lacks', () => {
    const base = { state: 'succeeded' as const, title: 't', workstream: null, node: 'w', attempt: 1, session: null, costUsd: null, waitingFor: [], reason: null, archived: null, resumes: null, created: null, remote: '/r.git' };
    const report = { repo: '/r.git', branch: 'g/integration', baseCommit: 'a'.repeat(40), headCommit: 'b'.repeat(40), pushed: true };
    const integration = { ...base, id: 'i', state: 'failed' as const, runner: 'merge', branch: 'g/integration', project: { ...report, pushed: false, merged: ['g/a'], conflicts: [{ branch: 'g/b', files: ['README.md'] }] } };
    const lazy = { ...base, id: 'r1', state: 'failed' as const, runner: 'claude', branch: 'g/integration', project: { ...report, merged: [] } };
    const old = { ...base, id: 'r0', runner: 'claude', branch: 'g/integration', project: report };
    expect(incompleteResolves(integration, merge, [lazy, old])).toEqual([{ id: 'r1', branch: 'g/integration', pushed: true, pushedNothing: false, missing: ['g/a', 'g/b'] }]);
    const text = groupText({ group: 'g', title: 't', repo: '/r.git', base: 'main', baseCommit: null, workstreams: [], integration, others: [{ ...lazy, kind: followUpKind(lazy, integration) }], resolvedBy: null, incomplete: incompleteResolves(integration, merge, [lazy]), superseded: [], movedSince: [], costUsd: 0, offline: null });
    expect(text).toContain('resolve r1 pushed g/integration without g/a, g/b: not resolved');
    // One that made no commit over its base pushed nothing on purpose: nothing is coming, as show says it.
    const idle = { ...lazy, id: 'r2', project: { ...report, pushed: false, headCommit: report.baseCommit, merged: [] } };
    const none = incompleteResolves(integration, merge, [idle]);
    expect(none).toEqual([{ id: 'r2', branch: 'g/integration', pushed: false, pushedNothing: true, missing: ['g/a', 'g/b'] }]);
    const said = groupText({ group: 'g', title: 't', repo: '/r.git', base: 'main', baseCommit: null, workstreams: [], integration, others: [{ ...idle, kind: followUpKind(idle, integration) }], resolvedBy: null, incomplete: none, superseded: [], movedSince: [], costUsd: 0, offline: null });
    expect(said).toContain('resolve r2 made no commit over its base, so nothing was pushed and nothing is coming (g/integration lacks g/a, g/b): not resolved');
    expect(said).not.toContain('left (not pushed)');
    // One that committed a half-done merge and did not succeed pushed nothing either (the worker keeps it).
    const half = { ...lazy, id: 'r3', project: { ...report, pushed: false, merged: ['g/a'] } };
    const halfText = groupText({ group: 'g', title: 't', repo: '/r.git', base: 'main', baseCommit: null, workstreams: [], integration, others: [{ ...half, kind: followUpKind(half, integration) }], resolvedBy: null, incomplete: incompleteResolves(integration, merge, [half]), superseded: [], movedSince: [], costUsd: 0, offline: null });
    expect(halfText).toContain('resolve r3 did not succeed, so nothing was pushed and nothing is coming (g/integration lacks g/b): not resolved');
    expect(halfText).toContain('nothing pushed (the resolve did not succeed)');
    expect(text).toContain('resolve again: gitbus resolve i, or merge again once the workstreams are fixed: gitbus resolve i --runner merge');
    expect(text).not.toContain('resolved by');
  });

  it('group and resolve judge alike: only a success that reports the branch pushed with every workstream resolves', () => {
    const report = { repo: '/r.git', branch: 'g/integration', baseCommit: 'a'.repeat(40), headCommit: 'b'.repeat(40), pushed: true };
    // A manual resolve answered succeeded with nothing checked shows nothing pushed: it blocks no later resolve.
    expect(resolvesIntegration(merge, 'succeeded', null)).toBe(false);
    expect(resolvesIntegration(merge, 'succeeded', undefined)).toBe(false);
    expect(resolvesIntegration(merge, 'succeeded', { ...report, pushed: false, merged: merge })).toBe(false);
    expect(resolvesIntegration(merge, 'succeeded', { ...report, merged: ['g/a'] })).toBe(false);
    expect(resolvesIntegration(merge, 'failed', { ...report, merged: merge })).toBe(false);
    expect(resolvesIntegration(merge, 'succeeded', { ...report, merged: merge })).toBe(true);
    // A response of a gitbus before the check lists no merged: taken at its word, once pushed.
    expect(resolvesIntegration(merge, 'succeeded', report)).toBe(true);
  });

  it('group names a resolve by hand so, and drops the reasons of failures a later resolve made moot', () => {
    const base = { title: 't', workstream: null, node: 'w', attempt: 1, session: null, costUsd: null, waitingFor: [], archived: null, resumes: null, created: null, remote: '/r.git' };
    const report = { repo: '/r.git', branch: 'g/integration', baseCommit: 'a'.repeat(40), headCommit: 'b'.repeat(40), pushed: true };
    const integration = { ...base, id: 'i', state: 'failed' as const, runner: 'merge', branch: 'g/integration', reason: 'conflicts', project: { ...report, pushed: false, merged: ['g/a'], conflicts: [{ branch: 'g/b', files: ['README.md'] }] } };
    const lazy = { ...base, id: 'r1', state: 'failed' as const, runner: 'claude', branch: 'g/integration', reason: 'g/integration does not contain g/a; resolve again (gitbus resolve i), or merge again (gitbus resolve i --runner merge)', project: { ...report, merged: [] } };
    const byHand = { ...base, id: 'r2', state: 'succeeded' as const, runner: 'manual', branch: 'g/integration', reason: null, project: { ...report, merged: merge } };
    const text = groupText({ group: 'g', title: 't', repo: '/r.git', base: 'main', baseCommit: null, workstreams: [], integration, others: [{ ...lazy, kind: followUpKind(lazy, integration) }, { ...byHand, kind: followUpKind(byHand, integration) }], resolvedBy: 'r2', incomplete: [], superseded: ['r1'], movedSince: [], costUsd: 0, offline: null });
    expect(text.split('\n').find((l) => l.includes(' r2 '))).toMatch(/^\s+resolve\s+r2\s+succeeded/);
    expect(text).toContain('resolved by r2: git fetch /r.git refs/heads/g/integration');
    expect(text).not.toContain('or merge again (gitbus resolve');
    expect(text).not.toContain('ask an agent');
    // Before it was resolved, the same failure is news.
    const before = groupText({ group: 'g', title: 't', repo: '/r.git', base: 'main', baseCommit: null, workstreams: [], integration, others: [{ ...lazy, kind: followUpKind(lazy, integration) }], resolvedBy: null, incomplete: incompleteResolves(integration, merge, [lazy]), superseded: [], movedSince: [], costUsd: 0, offline: null });
    expect(before).toContain(`  r1: ${lazy.reason}`);
  });
});

describe('a failed follow-up made moot by the one that settled the integration', () => {
  it('is one dispatched before it, as gitbus ids say; ids given by hand count as before', () => {
    const at = (id: string, created: string | null = null) => ({ id, created });
    expect(dispatchedBefore(at('20261204-101500-aaaaaa'), at('20261204-101501-bbbbbb'))).toBe(true);
    // A resume of the resolve, or a resolve --force, after the settle: not moot, its failure is news.
    expect(dispatchedBefore(at('20261204-101502-cccccc'), at('20261204-101501-bbbbbb'))).toBe(false);
    expect(dispatchedBefore(at('my-resolve'), at('20261204-101501-bbbbbb'))).toBe(true);
    // The second in the ids outranks `created`, which a handoff may leave out or a person may have written.
    expect(dispatchedBefore(at('20261204-101500-zzzzzz', '2026-12-04T10:15:09.000Z'), at('20261204-101501-aaaaaa', '2026-12-04T10:15:01.000Z'))).toBe(true);
  });

  it('within one second, by the handoffs\' created: the ids\' random tails are no order', () => {
    // A resolve that failed at once and the one dispatched after it, 0.3 s apart: the earlier one's tail sorts last.
    const failedFirst = { id: '20261204-101500-zzzzzz', created: '2026-12-04T10:15:00.100Z' };
    const settledAfter = { id: '20261204-101500-aaaaaa', created: '2026-12-04T10:15:00.400Z' };
    expect(dispatchedBefore(failedFirst, settledAfter)).toBe(true);
    expect(dispatchedBefore(settledAfter, failedFirst)).toBe(false);
    expect(dispatchedEarlier(failedFirst, settledAfter)).toBe(true);
    expect(newestDispatched([settledAfter, failedFirst])).toBe(settledAfter);
    expect(newestDispatched([failedFirst, settledAfter])).toBe(settledAfter);
    // Nothing says (no created, or the same millisecond): by id, as before, so group and resolve still agree.
    expect(dispatchedEarlier({ ...failedFirst, created: null }, settledAfter)).toBeNull();
    expect(dispatchedBefore({ ...failedFirst, created: null }, settledAfter)).toBe(false);
    expect(newestDispatched([{ ...settledAfter, created: failedFirst.created }, failedFirst])?.id).toBe(failedFirst.id);

    // As group judges the fan-out: the failure is moot, its reason not printed, and the later resolve is the one named.
    const merge = ['g/a', 'g/b'];
    const base = { title: 't', workstream: null, node: 'w', attempt: 1, session: null, costUsd: null, waitingFor: [], archived: null, resumes: null, remote: '/r.git', runner: 'claude' };
    const report = { repo: '/r.git', branch: 'g/integration', baseCommit: 'a'.repeat(40), headCommit: 'b'.repeat(40), pushed: true, merged: merge };
    const integration = { ...base, id: '20261204-101400-iiiiii', created: '2026-12-04T10:14:00.000Z', state: 'failed' as const, runner: 'merge', branch: 'g/integration', reason: 'conflicts', project: { ...report, pushed: false, conflicts: [{ branch: 'g/b', files: ['x'] }] } };
    const lazy = { ...base, ...failedFirst, state: 'failed' as const, branch: 'g/integration', reason: 'resolve again', project: { ...report, merged: [] } };
    const done = { ...base, ...settledAfter, state: 'succeeded' as const, branch: 'g/integration', reason: null, project: report };
    expect(settlement(integration, merge, [lazy, done])).toMatchObject({ resolvedBy: done.id, superseded: [lazy.id] });
    // Two that resolved it within one second: the later one, for group as for resolve.
    const alsoDone = { ...done, ...failedFirst };
    expect(settlement(integration, merge, [done, alsoDone]).resolvedBy).toBe(done.id);
    expect(settlingFollowUp('g/integration', [done, alsoDone])?.id).toBe(done.id);
  });
});

describe('a failed run that made no commit over its base', () => {
  const base = 'a'.repeat(40);
  const report = { repo: '/srv/app.git', branch: 'gitbus/x', baseCommit: base, headCommit: base, pushed: false, commits: 0 };
  it('is told from the fields alone: not pushed, at its base, with no pushError and no conflicts', () => {
    expect(pushedNothing(report)).toBe(true);
    expect(pushedNothing({ ...report, pushError: 'refused' })).toBe(false);
    expect(pushedNothing({ ...report, conflicts: [{ branch: 'a', files: ['f'] }] })).toBe(false);
    expect(pushedNothing({ ...report, headCommit: 'b'.repeat(40) })).toBe(false);
    expect(pushedNothing({ ...report, pushed: true })).toBe(false);
  });
  it('so is a resolve that did not succeed (it reports merged), at its base or not; said apart from one with no commit', () => {
    const resolve = { ...report, headCommit: 'b'.repeat(40), merged: ['g/a'] };
    expect(pushedNothing(resolve)).toBe(true);
    expect(unfinishedResolve(resolve)).toBe(true);
    expect(unfinishedResolve({ ...resolve, headCommit: base })).toBe(false);
    expect(pushedNothing({ ...resolve, pushError: 'refused' })).toBe(false);
    expect(notPushedWords('x', resolve)).toEqual({ text: RESOLVE_NOT_PUSHED, fetchable: false });
  });
  it('is said to hold nothing to fetch, not to be pushed later', () => {
    expect(notPushedWords('x', report)).toEqual({ text: 'not pushed: the run made no commit over its base, so there was nothing to push', fetchable: false });
    expect(notPushedWords('x', { ...report, pushError: 'the remote refused' })).toEqual({ text: 'not pushed yet: the remote refused', fetchable: true });
    const body = branchSection(report, '', {});
    expect(body).toContain('Nothing was pushed: the run made no commit over its base');
    expect(body).not.toContain('Not on the project remote yet');
  });
});
