import { describe, expect, it } from 'vitest';
import { InvalidBatchError } from '../../schemas/batch.js';
import { InvalidPlanError, MAX_WORKSTREAMS } from '../../schemas/plan.js';
import type { FileProblem } from '../../schemas/errors.js';
import { alsoLines, MAX_PROBLEM_LINES, places } from '../../schemas/problem-groups.js';

const problem = (path: string, over: Partial<FileProblem> = {}): FileProblem => ({ path, field: 'to', reason: 'no node named "nobody" is on this bus (nodes: bench)', fix: 'check the name', severity: 'error', ...over });

describe('the problems of a batch file, grouped', () => {
  it('a thousand lines with the same problem are one line naming them as a range, and a different problem among them keeps its own', () => {
    const problems = Array.from({ length: 1001 }, (_, i) =>
      i === 500 ? problem('tasks.jsonl:501', { field: 'priority', reason: 'expected a whole number', fix: 'write a number' }) : problem(`tasks.jsonl:${i + 1}`),
    );
    const err = new InvalidBatchError(problems);
    const lines = err.message.split('\n');
    // The first problem, then the other 999 of its kind as one line, then the one of another kind, each with its fix.
    expect(lines[0]).toBe('tasks.jsonl:1 (field to): no node named "nobody" is on this bus (nodes: bench) (+1000 more problems; nothing was dispatched)');
    expect(lines.slice(1)).toEqual([
      '  fix: check the name',
      'also error (999 times): tasks.jsonl:2-500, tasks.jsonl:502-1001 (to): no node named "nobody" is on this bus (nodes: bench)',
      '    fix: check the name',
      'also error: tasks.jsonl:501 (priority): expected a whole number',
      '    fix: write a number',
    ]);
    // Scripts still get every problem.
    expect(err.problems).toHaveLength(1001);
  });

  it('problems that differ in reason, field, fix or severity are not merged; past the limit the rest are counted', () => {
    const kinds = Array.from({ length: MAX_PROBLEM_LINES + 3 }, (_, i) => problem(`f.yaml:${i}`, { reason: `reason ${i}` }));
    const lines = alsoLines([...kinds, problem('f.yaml:99', { reason: 'reason 0', severity: 'warning' }), problem('f.yaml:98', { reason: 'reason 0' })]);
    expect(lines).toHaveLength(MAX_PROBLEM_LINES + 1);
    expect(lines[0]).toBe('also error (2 times): f.yaml:0, f.yaml:98 (to): reason 0\n    fix: check the name');
    expect(lines[MAX_PROBLEM_LINES]).toBe('... and 4 more problems of 4 other kinds (--json lists every one)');
  });

  it('names places as runs of lines, paths without a line as they are, and counts what is past eight', () => {
    expect(places(['a:1', 'a:2', 'a:3', 'a:5', 'b:6', 'b:7', 'c'])).toBe('a:1-3, a:5, b:6-7, c');
    expect(places(['a:3', 'a:2'])).toBe('a:3, a:2');
    expect(places(Array.from({ length: 10 }, (_, i) => `f:${i * 2}`))).toBe('f:0, f:2, f:4, f:6, f:8, f:10, f:12, f:14 and 2 more');
    expect(places(['C:\\x:1', 'C:\\x:2'])).toBe('C:\\x:1-2');
  });
});

describe('the problems of a plan, grouped', () => {
  const nosuch = (ws: number): FileProblem => ({ path: 'plan.md', field: `workstreams.${ws}.to`, reason: 'no node named "nosuch" is on this bus (nodes: alpha) (set by --to)', fix: 'check the name; or give --force', severity: 'error' });

  it('every workstream sent to a node that is not there is one line naming the runs of workstreams; another problem among them keeps its own', () => {
    const problems = Array.from({ length: MAX_WORKSTREAMS }, (_, i) => (i === 4 ? { ...nosuch(5), field: 'workstreams.5.labels.1', reason: 'not a label', fix: 'write a label' } : nosuch(i + 1)));
    problems.push({ ...nosuch(0), field: 'integrate.to', fix: 'give the plan integrate: {to: NODE}' });
    const err = new InvalidPlanError(problems);
    expect(err.message.split('\n')).toEqual([
      `plan.md (field workstreams.1.to): no node named "nosuch" is on this bus (nodes: alpha) (set by --to) (+${MAX_WORKSTREAMS} more problems)`,
      '  fix: check the name; or give --force',
      `also error (${MAX_WORKSTREAMS - 2} times): plan.md (workstreams.2-4.to, workstreams.6-${MAX_WORKSTREAMS}.to): no node named "nosuch" is on this bus (nodes: alpha) (set by --to)`,
      '    fix: check the name; or give --force',
      'also error: plan.md (workstreams.5.labels.1): not a label',
      '    fix: write a label',
      'also error: plan.md (integrate.to): no node named "nosuch" is on this bus (nodes: alpha) (set by --to)',
      '    fix: give the plan integrate: {to: NODE}',
    ]);
    // Scripts still get every problem.
    expect(err.problems).toHaveLength(MAX_WORKSTREAMS + 1);
  });

  it('fields the same but for their first position are one kind; positions far apart are counted past eight; a batch\'s lines each keep their field', () => {
    const spread = Array.from({ length: 12 }, (_, i) => nosuch(i * 2 + 1));
    expect(alsoLines(spread)).toEqual(['also error (12 times): plan.md (workstreams.1.to, workstreams.3.to, workstreams.5.to, workstreams.7.to, workstreams.9.to, workstreams.11.to, workstreams.13.to, workstreams.15.to and 4 more): no node named "nosuch" is on this bus (nodes: alpha) (set by --to)\n    fix: check the name; or give --force']);
    const lines = [2, 3].map((line, i): FileProblem => ({ path: `t.jsonl:${line}`, field: `labels.${i}`, reason: 'not a label', fix: 'write a label', severity: 'error' }));
    expect(alsoLines(lines)).toEqual(['also error (2 times): t.jsonl:2 (labels.0), t.jsonl:3 (labels.1): not a label\n    fix: write a label']);
  });
});
