import { describe, it, expect } from 'vitest';
import { movedSinceIntegration } from '../../bus/ops/group-moved.js';
import { followUpKind, type GroupTask, type GroupView } from '../../bus/ops/group.js';
import { groupText } from '../../cli/commands/group.js';

/**
 * A group integrated, then a workstream resumed (seed 003's rework after review): the integration's branch lacks what
 * the resume adds, so `gitbus group` must stop saying "integrated" (bus/ops/group-moved.ts).
 */
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const base: GroupTask = { id: '', state: 'succeeded', title: 't', workstream: null, runner: 'claude', branch: null, remote: '/r.git', node: 'w', attempt: 1, session: null, costUsd: null, project: null, waitingFor: [], reason: null, archived: null, resumes: null, created: null };
const report = (branch: string, headCommit: string) => ({ repo: '/r.git', branch, baseCommit: A, headCommit, pushed: true });
const ws: GroupTask = { ...base, id: '20261207-100000-wsoneo', workstream: 'one', branch: 'g/one', project: report('g/one', B) };
const other: GroupTask = { ...base, id: '20261207-100001-wstwoo', workstream: 'two', branch: 'g/two', project: report('g/two', B) };
const integration: GroupTask = { ...base, id: '20261207-110000-integr', runner: 'merge', branch: 'g/integration', project: { ...report('g/integration', C), merged: ['g/one', 'g/two'] } };

describe('workstreams moved after the integration', () => {
  it('a resume dispatched after it that pushed new commits moved its workstream; one still running may; one that moved nothing, or came before, did not', () => {
    const moved: GroupTask = { ...base, id: '20261207-120000-resume', resumes: ws.id, branch: 'g/one', project: report('g/one', C) };
    expect(movedSinceIntegration([ws, other], [moved], integration)).toEqual([{ workstream: 'one', by: moved.id, moved: true }]);
    const running: GroupTask = { ...moved, state: 'claimed', project: null };
    expect(movedSinceIntegration([ws, other], [running], integration)).toEqual([{ workstream: 'one', by: moved.id, moved: false }]);
    // Its head is the workstream's: nothing new on the branch.
    const idle: GroupTask = { ...moved, project: report('g/one', B) };
    expect(movedSinceIntegration([ws, other], [idle], integration)).toEqual([]);
    // Not pushed: the project remote's branch is where the integration merged it.
    expect(movedSinceIntegration([ws, other], [{ ...moved, project: { ...report('g/one', C), pushed: false } }], integration)).toEqual([]);
    // Ended before the integration was dispatched: merged by it.
    expect(movedSinceIntegration([ws, other], [{ ...moved, id: '20261207-105000-before' }], integration)).toEqual([]);
    // Nothing settled the group: nothing to be out of date with.
    expect(movedSinceIntegration([ws, other], [moved], null)).toEqual([]);
  });

  it('follows a resume of a resume back to its workstream, comparing with the head of the task it resumed', () => {
    const first: GroupTask = { ...base, id: '20261207-120000-first1', resumes: ws.id, branch: 'g/one', project: report('g/one', C) };
    const second: GroupTask = { ...base, id: '20261207-130000-second', resumes: first.id, branch: 'g/one', project: report('g/one', C) };
    // The second left the branch where the first did; the first moved it.
    expect(movedSinceIntegration([ws], [first, second], integration)).toEqual([{ workstream: 'one', by: first.id, moved: true }]);
    // A chain that loops names no workstream.
    const loopA: GroupTask = { ...base, id: '20261207-140000-loopaa', resumes: '20261207-140001-loopbb', state: 'claimed' };
    const loopB: GroupTask = { ...loopA, id: '20261207-140001-loopbb', resumes: loopA.id };
    expect(movedSinceIntegration([ws], [loopA, loopB], integration)).toEqual([]);
  });

  it('names each follow-up as group and the web view both show it: a resume, an earlier integration, a resolve, another task', () => {
    const resume: GroupTask = { ...base, id: 'r', resumes: ws.id, branch: 'g/one' };
    const earlier: GroupTask = { ...base, id: 'i0', runner: 'merge', branch: 'g/integration', state: 'failed' };
    const beside: GroupTask = { ...base, id: 'f', runner: 'manual', branch: 'g/integration-moved-12345678' };
    const elsewhere: GroupTask = { ...base, id: 'x', runner: 'shell', branch: 'g/docs' };
    expect([resume, earlier, beside, elsewhere].map((t) => followUpKind(t, integration))).toEqual(['resume', 'integration', 'resolve', 'other']);
  });

  it('group says the group is not integrated as it stands, which workstreams moved, and the merge that brings them in', () => {
    const view: GroupView = { group: 'g', title: 't', repo: '/r.git', base: 'main', baseCommit: A, workstreams: [ws, other], integration, others: [], resolvedBy: null, incomplete: [], superseded: [], movedSince: [{ workstream: 'one', by: 'r1', moved: true }, { workstream: 'two', by: 'r2', moved: false }], costUsd: 0, offline: null };
    const text = groupText(view);
    expect(text).toContain('integrated before the resumes below: ');
    expect(text).toContain('not integrated as it stands: g/integration lacks what came after it on these workstreams:');
    expect(text).toContain('  one: moved since, by resume r1');
    expect(text).toContain('  two: being resumed by r2, which may move it');
    expect(text).toContain(`merge again once the resumes ended: gitbus resolve ${integration.id} --runner merge --force`);
    expect(groupText({ ...view, movedSince: [] })).not.toContain('not integrated');
  });
});
