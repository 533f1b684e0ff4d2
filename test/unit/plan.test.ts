import { describe, expect, it } from 'vitest';
import { groupFromFileName, parsePlan } from '../../schemas/plan.js';
import { buildFanout, commonClaude, suffixedTitle } from '../../bus/model/fanout.js';

const project = { repo: '/srv/app.git', base: 'main', baseCommit: 'c'.repeat(40) };

function plan(yaml: string, path = 'specs/feature.md') {
  return parsePlan(path, `---\n${yaml}---\nThe brief.\n`);
}

describe('plan files', () => {
  it('take the group from the file name, as seed 003 named its features', () => {
    expect(groupFromFileName('specs/2025_06_07_14_35_00_conversation_system.md')).toBe('conversation_system');
    expect(groupFromFileName('/x/My Feature!.md')).toBe('my-feature');
    expect(groupFromFileName('---.md')).toBeUndefined();
    // A name that is only a date keeps it: "00" or "01" would be shared by unrelated plans, and so their branches.
    expect(groupFromFileName('specs/2025_06_07_14_35_00.md')).toBe('2025_06_07_14_35_00');
    expect(groupFromFileName('specs/2025-06-07-2.md')).toBe('2025-06-07-2');
    expect(groupFromFileName('specs/2025-06-07-v2.md')).toBe('v2');
    const p = plan('title: T\nworkstreams:\n  - {name: a, tasks: do a}\n', 'specs/2025-06-07-auth.md');
    expect(p.ok && p.plan.group).toBe('auth');
  });

  it('report each problem with its field and fix: repeated names, the integration name, runners that cannot be workstreams', () => {
    const p = plan('title: T\nrunner: shell\nworkstreams:\n  - {name: a, tasks: x}\n  - {name: a, tasks: y, command: make}\n  - {name: integration, tasks: z, runner: merge}\nbranch: x\n');
    expect(p.ok).toBe(false);
    if (p.ok) return;
    const fields = p.problems.map((x) => x.field);
    expect(fields).toEqual(expect.arrayContaining(['branch', 'workstreams.1.command', 'workstreams.2.name', 'workstreams.3.name', 'workstreams.3.runner']));
    expect(p.problems.every((x) => x.path === 'specs/feature.md' && x.fix !== '')).toBe(true);
  });

  it('count list positions from 1 in every field path, as a person counts the entries of a YAML list', () => {
    const p = plan('title: T\nworkstreams:\n  - {name: a, tasks: x}\n  - {name: b, tasks: y, labels: [ok, "Not A Label"], tsks: z}\n  - {name: a, tasks: z}\n');
    expect(p.ok).toBe(false);
    if (p.ok) return;
    expect(p.problems.map((x) => x.field)).toEqual(['workstreams.2.labels.2', 'workstreams.2.tsks']);
    const twice = plan('title: T\nworkstreams:\n  - {name: a, tasks: x}\n  - {name: a, tasks: z}\n');
    expect(twice.ok ? [] : twice.problems.map((x) => [x.field, x.reason])).toEqual([['workstreams.2.name', expect.stringContaining('(also workstreams.1)')]]);
  });

  it('build handoffs with defaults below the workstream, claude by default, and integrate: false for none', () => {
    const p = plan('title: T\nlabels: [gpu]\ntimeout: 1h\nworkstreams:\n  - {name: a, tasks: do a, labels: [cpu]}\n  - {name: b, tasks: do b, command: make, to: box}\nintegrate: false\n');
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    const b = buildFanout(p.plan, project, { to: 'fallback' }, ['id-a', 'id-b']);
    expect(b.integration).toBeNull();
    expect(b.tasks.map((t) => t.handoff)).toEqual([
      expect.objectContaining({ title: 'T: a', runner: 'claude', labels: ['cpu'], to: 'fallback', timeout: '1h', branch: 'feature/a', workstream: 'a', group: 'feature' }),
      expect.objectContaining({ runner: 'shell', command: 'make', labels: ['gpu'], to: 'box', branch: 'feature/b' }),
    ]);
    expect(b.tasks[0]?.body).toContain('The brief.');
  });

  it('keep titles within the limit', () => {
    const t = suffixedTitle('x'.repeat(300), 'integration');
    expect([...t].length).toBe(200);
    expect(t.endsWith('…: integration')).toBe(true);
  });
});

describe("a resolve's claude requests from the workstreams", () => {
  it('are what every workstream asked alike; an override, a missing key and resume are left out', () => {
    expect(commonClaude([])).toBeNull();
    expect(commonClaude([{ model: 'opus', maxBudgetUsd: 5, allowedTools: ['Bash(git *)'], resume: 's1' }, { model: 'opus', maxBudgetUsd: 5, allowedTools: ['Bash(git *)'], maxTurns: 20, resume: 's2' }])).toEqual({ model: 'opus', maxBudgetUsd: 5, allowedTools: ['Bash(git *)'] });
    expect(commonClaude([{ model: 'opus' }, { model: 'sonnet' }])).toBeNull();
    expect(commonClaude([{ model: 'opus', allowedTools: ['a'] }, { model: 'opus', allowedTools: ['a', 'b'] }, {}])).toBeNull();
    expect(commonClaude([{ interactive: true }])).toEqual({ interactive: true });
  });
});
