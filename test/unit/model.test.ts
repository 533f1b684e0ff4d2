import { describe, it, expect } from 'vitest';
import { indexTree, openAttempt } from '../../bus/model/index-tree.js';
import { applyDependencies, baseTaskView, type ParsedTaskFiles } from '../../bus/model/task-view.js';
import { claimQueue, eligibility, noTaker, pickFromQueue, pickManyFromQueue } from '../../bus/model/planner.js';
import { resolveTaskId } from '../../bus/model/resolve-id.js';
import type { TaskFiles } from '../../bus/model/types.js';
import type { TreeEntry } from '../../bus/store/objects.js';

const blob = (path: string): TreeEntry => ({ path, oid: `oid-${path}`, mode: '100644', type: 'blob' });

function files(id: string, extra: Partial<TaskFiles> = {}): TaskFiles {
  return { id, handoff: { path: `handoffs/${id}.md`, oid: 'h' }, claims: new Map(), releases: new Map(), ...extra };
}
const ok = <T>(data: T) => ({ ok: true as const, data, body: '', warnings: [] });
const handoff = (title: string, more: Record<string, unknown> = {}): ParsedTaskFiles => ({ handoff: ok({ title, ...more }) });

describe('indexTree', () => {
  it('groups files by task id from names alone and reports bad names and orphans', () => {
    const idx = indexTree({
      commit: 'c',
      root: [blob('gitbus.yaml')],
      folders: new Map([
        ['handoffs', [blob('t1.md'), blob('t2.md'), blob('Bad.md')]],
        ['claims', [blob('t1.1.md'), blob('t1.2.md'), blob('ghost.1.md')]],
        ['releases', [blob('t1.1.md')]],
        ['responses', [blob('t2.md')]],
        ['nodes', [blob('alpha.md')]],
      ]),
    });
    expect([...idx.tasks.keys()].sort()).toEqual(['t1', 't2']);
    const t1 = idx.tasks.get('t1');
    expect(t1 && [...t1.claims.keys()].sort()).toEqual([1, 2]);
    expect(t1 && openAttempt(t1)).toBe(2);
    expect(idx.nodes.has('alpha')).toBe(true);
    expect(idx.problems.map((p) => p.path).sort()).toEqual(['claims/ghost.1.md', 'handoffs/Bad.md']);
  });
});

describe('task state (docs/PROTOCOL.md §4)', () => {
  it('pending, claimed, released, cancelled, cancelling, responded', () => {
    expect(baseTaskView(files('a'), handoff('x')).state).toBe('pending');
    const claimed = files('a', { claims: new Map([[1, { path: 'claims/a.1.md', oid: 'c' }]]) });
    expect(baseTaskView(claimed, { ...handoff('x'), claim: ok({ id: 'a', attempt: 1, node: 'n1', claimed: '2026-01-01T00:00:00Z' }) })).toMatchObject({ state: 'claimed', claim: { attempt: 1, node: 'n1' } });
    const released = files('a', { claims: new Map([[1, { path: 'claims/a.1.md', oid: 'c' }]]), releases: new Map([[1, { path: 'releases/a.1.md', oid: 'r' }]]) });
    expect(baseTaskView(released, handoff('x'))).toMatchObject({ state: 'pending', attempts: 1 });
    expect(baseTaskView(files('a', { cancel: { path: 'cancels/a.md', oid: 'k' } }), handoff('x')).state).toBe('cancelled');
    expect(baseTaskView({ ...claimed, cancel: { path: 'cancels/a.md', oid: 'k' } }, { ...handoff('x'), claim: ok({ id: 'a', attempt: 1, node: 'n1', claimed: '2026-01-01T00:00:00Z' }) }).state).toBe('cancelling');
    const done = files('a', { response: { path: 'responses/a.md', oid: 'r' } });
    expect(baseTaskView(done, { ...handoff('x'), response: ok({ id: 'a', status: 'timed-out', node: 'n', finished: '2026-01-01T00:00:00Z' }) }).state).toBe('timed-out');
  });

  it('an unreadable claim still holds its attempt; an unreadable response still ends the task', () => {
    const claimed = files('a', { claims: new Map([[1, { path: 'claims/a.1.md', oid: 'c' }]]) });
    const bad = { ok: false as const, problems: [{ path: 'claims/a.1.md', field: '', reason: 'bad', fix: 'x', severity: 'error' as const }] };
    expect(baseTaskView(claimed, { ...handoff('x'), claim: bad })).toMatchObject({ state: 'claimed', claim: { node: null } });
    // It names no node that could stop the work and report, so a cancel ends it (rule 3) rather than leave it
    // `cancelling` for ever; a cancel beside a claim that parses still waits for its holder.
    expect(baseTaskView({ ...claimed, cancel: { path: 'cancels/a.md', oid: 'k' } }, { ...handoff('x'), claim: bad })).toMatchObject({ state: 'cancelled', claim: { node: null } });
    // A claim of a newer protocol is not unreadable to the node that wrote it, which may be running the task: its
    // cancel waits for that node, as any other.
    const newer = { ...bad, unsupportedProtocol: 2 };
    expect(baseTaskView({ ...claimed, cancel: { path: 'cancels/a.md', oid: 'k' } }, { ...handoff('x'), claim: newer })).toMatchObject({ state: 'cancelling', claim: { node: null, newer: 2 } });
    expect(baseTaskView(files('a', { response: { path: 'responses/a.md', oid: 'r' } }), { ...handoff('x'), response: bad }).state).toBe('failed');
  });

  it('invalid and unsupported handoffs are never pending', () => {
    const bad = { ok: false as const, problems: [{ path: 'handoffs/a.md', field: 'title', reason: 'missing', fix: 'add it', severity: 'error' as const }] };
    expect(baseTaskView(files('a'), { handoff: bad }).state).toBe('invalid');
    expect(baseTaskView(files('a'), handoff('x', { protocol: 2 })).state).toBe('unsupported');
    expect(baseTaskView(files('a'), { handoff: { ...bad, unsupportedProtocol: 2 } }).state).toBe('unsupported');
  });

  it('dependencies block until every one succeeded', () => {
    const v = baseTaskView(files('b'), handoff('x', { after: ['a', 'c'] }));
    expect(applyDependencies(v, (id) => (id === 'a' ? 'succeeded' : 'failed'))).toMatchObject({ state: 'blocked', waitingFor: ['c'] });
    expect(applyDependencies(v, () => 'succeeded').state).toBe('pending');
  });
});

describe('planner', () => {
  const who = { node: 'gpu', labels: ['gpu', 'linux'] };
  const view = (id: string, more: Record<string, unknown> = {}) => baseTaskView(files(id), handoff(id, more));

  it('honours to, labels, runners and max attempts, with reasons', () => {
    expect(eligibility(view('a', { to: 'other' }), who, 3)).toMatchObject({ ok: false, reason: 'it is addressed to node other' });
    expect(eligibility(view('a', { labels: ['mac'] }), who, 3).reason).toContain('mac');
    expect(eligibility(view('a', { command: 'x' }), { ...who, runners: ['manual'] }, 3).reason).toContain('shell');
    expect(eligibility({ ...view('a'), attempts: 3 }, who, 3).reason).toContain('3 attempts');
    expect(eligibility(view('a', { labels: ['gpu'] }), who, 3).ok).toBe(true);
  });

  it('orders by priority, then creation time, then id', () => {
    const q = claimQueue(
      [
        view('old-low', { created: '2026-01-01T00:00:00Z' }),
        view('new-high', { priority: 5, created: '2026-02-01T00:00:00Z' }),
        view('older-low', { created: '2025-01-01T00:00:00Z' }),
        view('no-date'),
      ],
      who,
      3,
    );
    expect(q.map((v) => v.id)).toEqual(['new-high', 'older-low', 'old-low', 'no-date']);
  });
});

describe('pickFromQueue', () => {
  const v = (id: string, priority = 0) => baseTaskView(files(id), handoff(id, { priority }));
  it('takes the head first, and spreads retries only within the head priority', () => {
    const q = [v('a', 5), v('b', 5), v('c', 5), v('d', 1)];
    expect(pickFromQueue(q, 1, () => 0.99)?.id).toBe('a');
    expect(pickFromQueue(q, 2, () => 0.99)?.id).toBe('c');
    expect(pickFromQueue(q, 2, () => 0)?.id).toBe('a');
    expect(pickFromQueue([v('a', 5), v('d', 1)], 3, () => 0.99)?.id).toBe('a');
    expect(pickFromQueue([], 2)).toBeUndefined();
  });
});

describe('pickManyFromQueue', () => {
  const v = (id: string, priority = 0, runner?: string) => baseTaskView(files(id), handoff(id, { priority, ...(runner ? { runner } : {}) }));
  it('takes up to max tasks in queue order, the first spread after a lost race', () => {
    const q = [v('a', 5), v('b', 5), v('c', 5), v('d', 1)];
    expect(pickManyFromQueue(q, 1, 3).map((x) => x.id)).toEqual(['a', 'b', 'c']);
    expect(pickManyFromQueue(q, 1, 9).map((x) => x.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(pickManyFromQueue(q, 2, 2, {}, () => 0.99).map((x) => x.id)).toEqual(['c', 'a']);
    expect(pickManyFromQueue(q, 1, 0)).toEqual([]);
    expect(pickManyFromQueue([], 1, 4)).toEqual([]);
  });
  it('takes at most perRunner tasks of a runner, and goes on past them', () => {
    const q = [v('c1', 5, 'claude'), v('c2', 5, 'claude'), v('s1', 1, 'shell'), v('c3', 1, 'claude')];
    expect(pickManyFromQueue(q, 1, 3, { claude: 1 }).map((x) => x.id)).toEqual(['c1', 's1']);
  });
});

describe('resolveTaskId', () => {
  const ids = ['20261121-042933-k3f9qx', '20261121-042934-aaaaaa', 'hand-written'];
  it('takes full ids, unique prefixes and suffixes', () => {
    expect(resolveTaskId(ids, 'hand-written')).toBe('hand-written');
    expect(resolveTaskId(ids, 'k3f9qx')).toBe('20261121-042933-k3f9qx');
    expect(resolveTaskId(ids, 'hand')).toBe('hand-written');
  });
  it('refuses ambiguous and too-short references', () => {
    expect(() => resolveTaskId(ids, '20261121')).toThrow(/matches 2 tasks/);
    expect(() => resolveTaskId(ids, 'k3')).toThrow(/no task/);
  });  it('asks a lookup (a snapshot) for a full id before listing every live id, and lists them for a short ref', () => {
    let listed = 0;
    const live = { has: (id: string) => ids.includes(id), ids: () => (listed++, ids) };
    expect(resolveTaskId(live, 'hand-written')).toBe('hand-written');
    expect(listed).toBe(0);
    expect(resolveTaskId(live, 'k3f9qx')).toBe('20261121-042933-k3f9qx');
    expect(() => resolveTaskId(live, '20261121')).toThrow(/matches 2 tasks/);
    expect(listed).toBe(2);
  });
});

describe('noTaker', () => {
  const cards = [{ node: 'gpu', labels: ['gpu'], runners: ['manual', 'shell'] }, { node: 'mac', labels: [], runners: ['manual', 'shell', 'claude'] }];
  it('says why no card lets a node take a pending task, and nothing when one does', () => {
    expect(noTaker({ runner: 'claude', to: 'gpu' }, cards)).toContain('node gpu cannot take it: it does not offer the claude runner');
    expect(noTaker({ runner: 'claude', labels: ['gpu'] }, cards)).toBe('no node can take it: gpu: it does not offer the claude runner; mac: it lacks label(s) gpu');
    expect(noTaker({ to: 'ghost' }, cards)).toBe('node ghost is not on the bus');
    expect(noTaker({ command: 'make', labels: ['gpu'] }, cards)).toBeNull();
    expect(noTaker({ runner: 'claude' }, [])).toBeNull();
    // A node whose card cannot be read may take it: nothing is said.
    expect(noTaker({ runner: 'claude', to: 'odd' }, [...cards, { node: 'odd', readable: false }])).toBeNull();
  });

  it("says so when every card's policy refuses a project task's repo, judged as the nodes' claims judge it", () => {
    const limited = [
      { node: 'gpu', runners: ['manual', 'shell'], policy: { repos: ['https://host/o/app.git'] } },
      { node: 'mac', runners: ['manual', 'shell'], projectsOnly: ['web', 'https://host/o/web.git'] },
    ];
    expect(noTaker({ command: 'make', repo: 'https://host/o/other.git' }, limited)).toBe(
      'no node can take it: gpu: its policy refuses it (policy.repos: node gpu works only on https://host/o/app.git, and the task\'s repo is "https://host/o/other.git"); ' +
        'mac: its policy refuses it (projectsOnly: node mac takes project tasks only for the projects its node.yaml lists (web), and the task\'s repo is "https://host/o/other.git")',
    );
    expect(noTaker({ command: 'make', repo: 'https://host/o/web.git' }, limited)).toBeNull();
    // Not a project task, or one whose bare name only a node can judge: someone may take it.
    expect(noTaker({ command: 'make' }, limited)).toBeNull();
    expect(noTaker({ command: 'make', repo: 'app' }, limited.slice(0, 1))).toBeNull();
    // Addressed to a node that refuses it: it is said, and that its watcher answers it failed.
    expect(noTaker({ command: 'make', repo: 'https://host/o/other.git', to: 'gpu' }, limited)).toMatch(/^node gpu cannot take it: its policy refuses it \(policy\.repos: .*\); its watcher answers it failed$/);
  });
});
