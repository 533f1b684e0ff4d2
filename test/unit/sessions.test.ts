import { describe, it, expect } from 'vitest';
import { applyResume, resumePlan, resumeTitle, type RanTask } from '../../bus/model/resume-plan.js';
import { NeverRanError, NoSessionError, StillRunningError } from '../../bus/resume-errors.js';
import { InvalidTaskError } from '../../bus/errors.js';
import { exitCodeFor, EXIT } from '../../cli/exit-codes.js';
import { mayPrune, pruneBlockers, pruneReason, pushCommand, type PruneFacts } from '../../watcher/workspace/prune-rules.js';
import type { WorktreeRecord } from '../../watcher/workspace/registry.js';
import { acquireRunLock } from '../../watcher/workspace/run-lock.js';

const S = '0b7e9c1a-3c2d-4e5f-8a9b-0c1d2e3f4a5b';
const ran = (more: Partial<RanTask> = {}): RanTask => ({
  id: 't1',
  state: 'succeeded',
  handoff: { title: 'do it', runner: 'claude', repo: 'proj', base: 'main', baseCommit: 'a'.repeat(40), workdir: 'src', claude: { model: 'sonnet', resume: 'old', interactive: false } },
  response: { id: 't1', status: 'succeeded', node: 'gpu', attempt: 2, finished: '2026-01-01T00:00:00Z', claude: { sessionId: S } },
  claims: [
    { id: 't1', attempt: 1, node: 'laptop', claimed: '2026-01-01T00:00:00Z', session: 'first' },
    { id: 't1', attempt: 2, node: 'gpu', claimed: '2026-01-01T00:00:00Z', session: S },
  ],
  problems: [],
  ...more,
});

describe('resumePlan', () => {
  it('continues the session on the node that ran it, on the same project, branch and workdir, with its claude settings', () => {
    const p = resumePlan(ran());
    expect(p).toEqual({
      node: 'gpu',
      session: S,
      fields: { to: 'gpu', runner: 'claude', claude: { model: 'sonnet', resume: S }, resumes: 't1', repo: 'proj', base: 'main', baseCommit: 'a'.repeat(40), branch: 'gitbus/t1', workdir: 'src' },
    });
  });

  it("falls back to the claim of the response's attempt when the response reports no session, and to the last claim without a response", () => {
    expect(resumePlan(ran({ response: { id: 't1', status: 'failed', node: 'gpu', attempt: 1, finished: '2026-01-01T00:00:00Z' } })).session).toBe('first');
    const cancelled = resumePlan(ran({ state: 'cancelled', response: null }));
    expect(cancelled).toMatchObject({ node: 'gpu', session: S });
  });

  it('an interactive task resumes its recorded session headless (interactive is not kept)', () => {
    const p = resumePlan(ran({ handoff: { title: 'x', runner: 'claude', claude: { interactive: true, model: 'opus' } } }));
    expect(p.fields).toEqual({ to: 'gpu', runner: 'claude', claude: { model: 'opus', resume: S }, resumes: 't1' });
  });

  it("a fan-out's workstream resumes in its group (group and cancel --group see the resume), not as a workstream", () => {
    const p = resumePlan(ran({ handoff: { title: 'x', runner: 'claude', group: 'checkout', workstream: 'api' } }));
    expect(p.fields).toEqual({ to: 'gpu', runner: 'claude', claude: { resume: S }, resumes: 't1', group: 'checkout' });
  });

  it("a resolve's follow-up resumes with the branches it merges, so that its node checks them again", () => {
    const p = resumePlan(ran({ handoff: { title: 'x', runner: 'claude', group: 'checkout', merge: ['checkout/api', 'checkout/ui'] } }));
    expect(p.fields).toEqual({ to: 'gpu', runner: 'claude', claude: { resume: S }, resumes: 't1', group: 'checkout', merge: ['checkout/api', 'checkout/ui'] });
  });

  it('a task without a repo resumes without project fields', () => {
    const p = resumePlan(ran({ handoff: { title: 'x', runner: 'claude' } }));
    expect(p.fields).toEqual({ to: 'gpu', runner: 'claude', claude: { resume: S }, resumes: 't1' });
  });

  it('refuses a task that never ran, has no session, or is running or will run again', () => {
    expect(() => resumePlan(ran({ state: 'pending', response: null, claims: [] }))).toThrow(NeverRanError);
    expect(() => resumePlan(ran({ state: 'cancelled', response: null, claims: [] }))).toThrow(NeverRanError);
    expect(() => resumePlan(ran({ handoff: { title: 'x', command: 'make' } }))).toThrow(/shell runner/);
    expect(() => resumePlan(ran({ handoff: { title: 'x', runner: 'claude', claude: { interactive: true } }, response: { id: 't1', status: 'failed', node: 'gpu', finished: '2026-01-01T00:00:00Z' }, claims: [] }))).toThrow(NoSessionError);
    expect(() => resumePlan(ran({ response: { id: 't1', status: 'failed', node: 'gpu', finished: '2026-01-01T00:00:00Z' }, claims: [] }))).toThrow(/neither its response nor its claim/);
    expect(() => resumePlan(ran({ state: 'claimed', response: null }))).toThrow(StillRunningError);
    expect(() => resumePlan(ran({ state: 'claimed', response: null }))).toThrow(/on node gpu/);
    expect(() => resumePlan(ran({ state: 'pending', response: null }))).toThrow(/pending and will run again/);
  });

  it('refuses an invalid task, live or archived, with why it is invalid and the fix, not as one that will run again', () => {
    const refusal = (t: RanTask): InvalidTaskError => {
      try {
        resumePlan(t);
      } catch (e) {
        if (e instanceof InvalidTaskError) return e;
        throw e;
      }
      throw new Error('resumed an invalid task');
    };
    // An archived task whose response does not count: it has claims and a session, but how it ended is unknown.
    const forged = { path: 'archive:2026-01/t1/response.md', field: '', reason: 'how the task ended is unknown: this node does not count its archived response (not signed)', fix: 'put 2026-01/t1/response.md back as it was on the archive branch, or remove it', severity: 'error' as const };
    const archived = refusal(ran({ state: 'invalid', problems: [forged] }));
    expect(archived.message.split('\n')[0]).toBe('task t1 is invalid and does not run again by itself, so there is no session to resume: archive:2026-01/t1/response.md: how the task ended is unknown: this node does not count its archived response (not signed)');
    expect(archived.fix).toBe('put 2026-01/t1/response.md back as it was on the archive branch, or remove it ("gitbus show t1" lists why), or dispatch a new task');
    expect(archived.data['problems']).toEqual([forged]);
    // A live handoff that does not parse never ran: its problems, not "never ran, wait until it has run".
    const bad = { path: 'handoffs/t1.md', field: 'priority', reason: 'must be an integer', fix: 'write a whole number', severity: 'error' as const };
    const warning = { ...bad, field: 'created', reason: 'in the future', fix: 'check the clock', severity: 'warning' as const };
    const live = refusal(ran({ state: 'invalid', response: null, claims: [], problems: [warning, bad] }));
    expect(live.message.split('\n')[0]).toBe('task t1 is invalid and does not run again by itself, so there is no session to resume: handoffs/t1.md priority: must be an integer');
    expect(live.fix).toBe('write a whole number ("gitbus show t1" lists why), or dispatch a new task');
  });

  it('its refusals exit 5 with a fix', () => {
    for (const e of [new NeverRanError('t', 'pending'), new NoSessionError('t', 'why', 'fix'), new StillRunningError('t', 'claimed', 'n'), new InvalidTaskError('t', [], 'does not run again')]) {
      expect(exitCodeFor(e)).toBe(EXIT.conflict);
      expect(e.fix).not.toBe('');
    }
  });

  it('titles a resume by the first line of its prompt, within the title limit', () => {
    expect(resumeTitle('t1', '\n  continue please\nmore')).toBe('resume t1: continue please');
    expect(resumeTitle('t1', 'x'.repeat(400)).length).toBe(200);
  });
});

describe('applyResume', () => {
  const plan = resumePlan(ran());
  it("replaces the project fields the checkout filled in and keeps dispatch's others", () => {
    const h = applyResume({ title: 'check', repo: 'other', base: 'dev', branch: 'mine', priority: 3, timeout: '5m', labels: ['x'] }, plan);
    expect(h).toEqual({ title: 'check', priority: 3, timeout: '5m', labels: ['x'], ...plan.fields });
  });
  it('refuses a node, runner, command or workdir the session cannot have', () => {
    expect(applyResume({ title: 'x', to: 'laptop' }, plan)).toMatchObject({ conflict: expect.stringContaining('lives on node gpu') });
    expect(applyResume({ title: 'x', runner: 'shell' }, plan)).toHaveProperty('conflict');
    expect(applyResume({ title: 'x', command: 'make' }, plan)).toHaveProperty('conflict');
    expect(applyResume({ title: 'x', workdir: 'elsewhere' }, plan)).toHaveProperty('conflict');
    expect(applyResume({ title: 'x', to: 'gpu', runner: 'claude', workdir: 'src' }, plan)).not.toHaveProperty('conflict');
  });
});

describe('pruneBlockers', () => {
  const record: WorktreeRecord = { key: 'k', path: '/h/worktrees/k', repo: 'proj', url: '/p.git', gitDir: '/h/projects/p.git', branch: 'gitbus/k', baseCommit: 'b', tasks: ['k', 'r'], created: '', updated: '' };
  const facts = (more: Partial<PruneFacts> = {}): PruneFacts => ({
    record,
    git: { exists: true, head: 'h', unpushed: 0, uncommitted: 0 },
    tasks: [{ id: 'k', state: 'succeeded', archived: true }, { id: 'r', state: 'failed', archived: true }],
    resumers: [],
    pendingPush: false,
    running: new Set(),
    ...more,
  });

  it('lets an archived, pushed, clean worktree without a session go', () => {
    expect(pruneBlockers(facts())).toEqual([]);
    expect(mayPrune([], false)).toBe(true);
    expect(pruneReason(facts(), false)).toContain('ended and archived');
  });

  it('keeps a session or tasks not archived unless named', () => {
    const b = pruneBlockers(facts({ record: { ...record, session: 's' }, tasks: [{ id: 'k', state: 'succeeded', archived: false }] }));
    expect(b.map((x) => x.overridable)).toEqual([true, true]);
    expect(b[1]?.reason).toContain('gitbus resume r');
    expect(mayPrune(b, false)).toBe(false);
    expect(mayPrune(b, true)).toBe(true);
  });

  it('never lets unpushed commits, uncommitted files, open tasks, pending pushes or unknowns go, and says how to save the work', () => {
    const cases: Partial<PruneFacts>[] = [
      { git: { exists: true, head: 'h', unpushed: 2, uncommitted: 0 } },
      { git: { exists: true, head: 'h', unpushed: 0, uncommitted: 3 } },
      { git: { exists: true, head: null, unpushed: null, uncommitted: null, problem: 'the project remote could not be fetched' } },
      { tasks: [{ id: 'k', state: 'claimed', archived: false }] },
      { tasks: [{ id: 'k', state: 'unknown', archived: false }] },
      { resumers: [{ id: 'z', state: 'pending', archived: false }] },
      { pendingPush: true },
    ];
    for (const c of cases) {
      const b = pruneBlockers(facts(c));
      expect(b.some((x) => !x.overridable), JSON.stringify(c)).toBe(true);
      expect(mayPrune(b, true)).toBe(false);
    }
    expect(pruneBlockers(facts(cases[0]))[0]?.fix).toBe(`push them: ${pushCommand(record)}`);
    expect(pushCommand({ path: "/a b/it's", branch: 'x' })).toBe(`git -C '/a b/it'\\''s' push origin HEAD:refs/heads/x`);
    expect(pruneBlockers(facts(cases[3]))[0]?.fix).toContain('gitbus cancel k');
  });

  it('keeps a worktree of an invalid task: a live one until it is cancelled; an archived one unless named, saying how to name it', () => {
    const archived = pruneBlockers(facts({ tasks: [{ id: 'k', state: 'invalid', archived: true }] }));
    expect(archived).toEqual([{ reason: 'task k is archived, but how it ended is unknown (invalid; "gitbus show k" says why)', fix: 'an archived task never runs again, and this node no longer runs it; to prune it anyway, name it: gitbus worktrees prune k', overridable: true }]);
    expect(mayPrune(archived, false)).toBe(false);
    expect(mayPrune(archived, true)).toBe(true);
    const live = pruneBlockers(facts({ tasks: [{ id: 'k', state: 'invalid', archived: false }] }));
    expect(live).toEqual([{ reason: 'task k is invalid, and never ends by itself', fix: 'cancel it ("gitbus cancel k"), which ends it, or fix its handoff as "gitbus show k" says', overridable: false }]);
  });

  it('never lets a task this node still runs go, named or not, whatever the bus says of it', () => {
    for (const state of ['invalid', 'succeeded'] as const) {
      const b = pruneBlockers(facts({ tasks: [{ id: 'k', state, archived: true }], running: new Set(['k']) }));
      expect(b).toEqual([{ reason: `task k is ${state} and archived on the bus, but this node runs it now`, fix: 'wait until its run ends ("gitbus logs k --follow"); a run left by a watcher that died is stopped when the watcher starts again', overridable: false }]);
      expect(mayPrune(b, true)).toBe(false);
    }
  });
});

describe('acquireRunLock', () => {
  it('runs one holder at a time per key, in order, and lets other keys through', async () => {
    const never = new AbortController().signal;
    const waitedOn: string[] = [];
    const a = await acquireRunLock('k', 'a', never);
    const other = await acquireRunLock('other', 'x', never);
    expect(other).not.toBeNull();
    const order: string[] = [];
    const b = acquireRunLock('k', 'b', never, (h) => waitedOn.push(h)).then((r) => (order.push('b'), r));
    const c = acquireRunLock('k', 'c', never, (h) => waitedOn.push(h)).then((r) => (order.push('c'), r));
    // Every promise chain that could run has run once the next macrotask comes: b and c are still waiting.
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    expect(waitedOn).toEqual(['a', 'a']);
    a?.();
    a?.(); // a second release does nothing
    const rb = await b;
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['b']);
    rb?.();
    (await c)?.();
    other?.();
    // All released: the key is free again.
    const d = await acquireRunLock('k', 'd', never);
    expect(d).not.toBeNull();
    d?.();
  });

  it('a wait ended by a cancel holds nothing and skips its turn', async () => {
    const never = new AbortController().signal;
    const a = await acquireRunLock('q', 'a', never);
    const stop = new AbortController();
    const b = acquireRunLock('q', 'b', stop.signal);
    const c = acquireRunLock('q', 'c', never);
    stop.abort();
    expect(await b).toBeNull();
    a?.();
    const rc = await c;
    expect(rc).not.toBeNull();
    rc?.();
  });
});
