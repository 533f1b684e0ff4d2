import { describe, expect, it } from 'vitest';
import { batchFormat, BatchTooLargeError, checkBatchBytes, MAX_BATCH_BYTES, MAX_BATCH_TASKS, parseBatch, type BatchTask } from '../../schemas/batch.js';
import { batchHandoff, noRepoFix, ringProblems } from '../../bus/ops/dispatch-batch.js';
import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';
import type { Handoff } from '../../schemas/handoff.js';
import { InvalidBusFileError, type FileProblem } from '../../schemas/errors.js';
import { targetFileProblems } from '../../bus/ops/batch-targets.js';
import { cannotRunError, type TargetRefusal } from '../../bus/ops/dispatch-target.js';
import { NodeCannotRunError, UnknownNodeError } from '../../bus/errors.js';
import { inFileOrder } from '../../schemas/batch.js';
import { duplicateJsonKey } from '../../schemas/json-duplicate-key.js';

const lines = (...objs: unknown[]) => objs.map((o) => (typeof o === 'string' ? o : JSON.stringify(o))).join('\n');

function ok(path: string, text: string): BatchTask[] {
  const r = parseBatch(path, text);
  if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
  return r.tasks;
}

function problems(path: string, text: string) {
  const r = parseBatch(path, text);
  if (r.ok) throw new Error('expected problems');
  return r.problems.map((p) => ({ path: p.path, field: p.field, reason: p.reason }));
}

describe('batch files: format', () => {
  it('is told by the extension, else by the content (JSON Lines when the first line is an object, unless the whole text is one document with tasks)', () => {
    expect(batchFormat('a.jsonl', 'tasks: []')).toBe('jsonl');
    expect(batchFormat('a.ndjson', '')).toBe('jsonl');
    expect(batchFormat('a.yml', '{"title": "x"}')).toBe('yaml');
    expect(batchFormat('a.json', '{"tasks": []}')).toBe('yaml');
    expect(batchFormat('-', '\n  {"title": "x"}\n{"title": "y"}\n')).toBe('jsonl');
    expect(batchFormat('-', '{"title": "only one"}')).toBe('jsonl');
    expect(batchFormat('-', '{\n  "tasks": [{"title": "x"}]\n}\n')).toBe('yaml');
    expect(batchFormat('-', '# my tasks\ntasks:\n  - title: x\n')).toBe('yaml');
  });
});

describe('batch files: JSON Lines', () => {
  it('give one task per non-blank line, in order, each with its file and line, body/context/instructions and x- fields apart', () => {
    const tasks = ok('t.jsonl', lines({ title: 'one', command: 'make', priority: 3, labels: ['gpu'] }, '', { title: 'two', body: 'Do it.', context: 'c', 'x-ticket': 42 }, '   '));
    expect(tasks.map((t) => t.at)).toEqual(['t.jsonl:1', 't.jsonl:3']);
    expect(tasks[0]?.handoff).toEqual({ title: 'one', command: 'make', priority: 3, labels: ['gpu'] });
    expect(tasks[1]).toMatchObject({ handoff: { title: 'two' }, body: 'Do it.', context: 'c', extras: { 'x-ticket': 42 }, field: '' });
  });

  it('report every bad line at once with its line number and field, and the fix', () => {
    const got = problems(
      'bad.jsonl',
      lines(
        { title: 'fine' },
        { title: 'x', labels: 'gpu' },
        'not json',
        { title: 'y', runner: 'shell' },
        { command: 'no title' },
        { title: 'z', priorty: 1 },
        ['a list'],
        { title: 'w', priority: 5000, from: 'me' },
      ),
    );
    expect(got).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'bad.jsonl:2', field: 'labels' }),
        expect.objectContaining({ path: 'bad.jsonl:3', field: '', reason: expect.stringMatching(/not JSON/) }),
        expect.objectContaining({ path: 'bad.jsonl:4', field: 'command', reason: expect.stringMatching(/shell runner needs a command/) }),
        expect.objectContaining({ path: 'bad.jsonl:5', field: 'title', reason: expect.stringMatching(/required field "title" is missing/) }),
        expect.objectContaining({ path: 'bad.jsonl:6', field: 'priorty', reason: 'unknown field "priorty"' }),
        expect.objectContaining({ path: 'bad.jsonl:7', reason: expect.stringMatching(/must be a mapping.*a list/) }),
        expect.objectContaining({ path: 'bad.jsonl:8', field: 'priority' }),
        expect.objectContaining({ path: 'bad.jsonl:8', field: 'from', reason: 'unknown field "from"' }),
      ]),
    );
    expect(got.some((p) => p.path === 'bad.jsonl:1')).toBe(false);
  });

  it('leave project rules that the checkout may satisfy for later, and refuse an id chosen twice or a task waiting for itself', () => {
    expect(ok('t.jsonl', lines({ title: 'on a branch', branch: 'feature/x' }))[0]?.handoff.branch).toBe('feature/x');
    const got = problems('t.jsonl', lines({ title: 'a', id: 'build-1' }, { title: 'b', id: 'build-1' }, { title: 'c', id: 'self', after: ['self'] }));
    expect(got).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 't.jsonl:2', field: 'id', reason: expect.stringMatching(/chosen twice \(also at t.jsonl:1\)/) }),
        expect.objectContaining({ path: 't.jsonl:3', field: 'after.0' }),
      ]),
    );
  });

  it('refuse __proto__, constructor and prototype as unknown fields: a key never fills the fields of a task', () => {
    const got = problems('t.jsonl', lines('{"title":"x","__proto__":{"command":"echo smuggled","runner":"shell"}}', '{"title":"y","constructor":{"command":"echo a"}}', '{"title":"z","prototype":1}', '{"title":"w","runner":"claude","claude":{"__proto__":{"model":"opus"}}}'));
    expect(got).toEqual([
      { path: 't.jsonl:1', field: '__proto__', reason: 'unknown field "__proto__"' },
      { path: 't.jsonl:2', field: 'constructor', reason: 'unknown field "constructor"' },
      { path: 't.jsonl:3', field: 'prototype', reason: 'unknown field "prototype"' },
      { path: 't.jsonl:4', field: 'claude.__proto__', reason: 'unknown field "__proto__"' },
    ]);
    expect(problems('t.yaml', 'tasks:\n  - title: x\n    __proto__: {command: echo smuggled}\n')).toEqual([{ path: 't.yaml:2', field: 'tasks.0.__proto__', reason: 'unknown field "__proto__"' }]);
    expect(({} as Record<string, unknown>)['command']).toBeUndefined();
  });

  it('refuse a key repeated in one object, as the YAML form does, instead of taking its last value', () => {
    const got = problems('t.jsonl', lines({ title: 'fine' }, '{"title":"x","title":"y","command":"echo a","command":"rm -rf ~"}', '{"title":"z","runner":"claude","claude":{"model":"a","model":"b"}}', '{"title":"w","\\u0074itle":"v"}'));
    const twice = (name: string, line: number) => `the field "${name}" appears twice (again at line ${line})`;
    expect(got).toEqual([
      { path: 't.jsonl:2', field: 'title', reason: twice('title', 2) },
      { path: 't.jsonl:3', field: 'claude.model', reason: twice('model', 3) },
      { path: 't.jsonl:4', field: 'title', reason: twice('title', 4) },
    ]);
    expect(problems('t.yaml', 'tasks:\n  - title: x\n    title: y\n')).toEqual([{ path: 't.yaml', field: 'tasks.0.title', reason: twice('title', 3) }]);
  });

  it('refuse a line nested past 64 levels before reading it, in a field of its own or an x- one (the checks after JSON.parse took gigabytes at 20,000)', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const nested = `the line is nested more than 64 levels deep`;
    const got = problems('t.jsonl', lines({ title: 'fine', command: 'true' }, deep(100_000), `{"title":"x","command":"y","x-a":${deep(20_000)}}`, `{"title":"${'['.repeat(80)}","command":"y","labels":${deep(10)}}`));
    expect(got).toEqual([
      { path: 't.jsonl:2', field: '', reason: nested },
      { path: 't.jsonl:3', field: '', reason: nested },
      { path: 't.jsonl:4', field: 'labels.0', reason: expect.any(String) },
    ]);
  });

  it('tell a repeated key from the same text in values, strings and other objects', () => {
    expect(duplicateJsonKey('{"a":"\\"a\\":1,\\"a\\"","b":{"a":1},"c":[{"a":1},{"a":2}],"d":"}{,"}')).toBeNull();
    expect(duplicateJsonKey('{"a":[1,{"b":1,"b":2}]}')).toEqual({ path: ['a', '1'], key: 'b' });
    expect(duplicateJsonKey('[{"x":{"y":[]}},{"k":1,"k":1}]')).toEqual({ path: ['1'], key: 'k' });
  });

  it('name standard input "stdin", and refuse an empty file, invalid UTF-8 and a NUL byte', () => {
    expect(problems('-', '{"title": 5}')[0]?.path).toBe('stdin:1');
    expect(problems('t.jsonl', '\n\n')[0]?.reason).toMatch(/no tasks/);
    expect(parseBatch('t.jsonl', new Uint8Array([0x7b, 0xff, 0x7d])).ok).toBe(false);
    expect(problems('t.jsonl', '{"title": "a\u0000"}')[0]?.reason).toMatch(/NUL/);
  });
});

describe('batch files: YAML', () => {
  const yaml = `# nightly checks
tasks:
  - title: lint
    command: npm run lint
  - title: long one
    labels: [gpu]
    body: |
      Several lines
      of description.
`;
  it('read tasks: [...] with each task at the line it starts on', () => {
    const tasks = ok('n.yaml', yaml);
    expect(tasks.map((t) => [t.at, t.field, t.handoff.title])).toEqual([
      ['n.yaml:3', 'tasks.0.', 'lint'],
      ['n.yaml:5', 'tasks.1.', 'long one'],
    ]);
    expect(tasks[1]?.body).toBe('Several lines\nof description.\n');
  });

  it('report fields under tasks.N with the line, unknown top-level keys, and a file without tasks', () => {
    const got = problems('n.yaml', 'defaults: {to: x}\ntasks:\n  - title: ok\n  - title: bad\n    timeout: soon\n');
    expect(got).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'n.yaml', field: 'defaults', reason: 'unknown field "defaults"' }),
        expect.objectContaining({ path: 'n.yaml:4', field: 'tasks.1.timeout' }),
      ]),
    );
    expect(problems('n.yaml', 'title: x\n')).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'tasks', reason: 'the file has no "tasks"' })]));
    expect(problems('n.yaml', 'tasks: []\n')[0]?.reason).toMatch(/at least one task/);
    expect(problems('n.yaml', '- title: x\n')[0]?.reason).toMatch(/not a mapping with "tasks"/);
  });

  it('take a JSON document with tasks, and keep YAML safe (no custom tags)', () => {
    expect(ok('-', '{"tasks": [{"title": "from json"}]}').map((t) => t.handoff.title)).toEqual(['from json']);
    expect(problems('n.yaml', 'tasks:\n  - title: !!binary aGk=\n')[0]?.reason).toMatch(/tag/);
  });
});

describe('batch caps', () => {
  it(`refuse more than ${MAX_BATCH_TASKS} tasks, in either format, before reading them`, () => {
    const many = Array.from({ length: MAX_BATCH_TASKS + 1 }, (_, i) => JSON.stringify({ title: `t${i}` })).join('\n');
    expect(() => parseBatch('t.jsonl', many)).toThrow(BatchTooLargeError);
    expect(() => parseBatch('t.jsonl', many)).toThrow(/has 1001 tasks; one batch \(one commit\) takes at most 1000 tasks/);
    const yaml = `tasks:\n${Array.from({ length: MAX_BATCH_TASKS + 1 }, (_, i) => `  - title: t${i}\n`).join('')}`;
    expect(() => parseBatch('t.yaml', yaml)).toThrow(BatchTooLargeError);
    expect(ok('t.jsonl', many.split('\n').slice(1).join('\n')).length).toBe(MAX_BATCH_TASKS);
  });
  it('refuse a commit larger than the byte cap', () => {
    expect(() => checkBatchBytes(MAX_BATCH_BYTES)).not.toThrow();
    expect(() => checkBatchBytes(MAX_BATCH_BYTES + 1)).toThrow(/one batch \(one commit\) takes at most 16.0 MiB/);
  });
});

describe('a batch task as a handoff', () => {
  const project = { repo: '/srv/app.git', base: 'main', baseCommit: 'c'.repeat(40) };
  const task = (line: string) => ok('t.jsonl', line)[0] as BatchTask;

  it('takes --to/--label as defaults below its own, and the batch project unless it names its own', () => {
    const plain = batchHandoff(task('{"title": "a", "labels": ["cpu"]}'), { project, defaults: { to: 'box', labels: ['gpu'] } });
    expect(plain.handoff).toEqual({ title: 'a', labels: ['cpu'], to: 'box', ...project });
    const own = batchHandoff(task('{"title": "b", "repo": "/srv/other.git", "to": "x"}'), { project, defaults: { to: 'box' } });
    expect(own.handoff).toEqual({ title: 'b', repo: '/srv/other.git', to: 'x' });
    expect(batchHandoff(task('{"title": "c"}'), { project: null }).handoff).toEqual({ title: 'c' });
  });

  it('gives a schedule no base commit, keeps a chosen id out of the fields, and writes the body like dispatch', () => {
    const sched = batchHandoff(task('{"title": "nightly", "schedule": "0 3 * * *", "id": "night"}'), { project });
    expect(sched.handoff).toEqual({ title: 'nightly', schedule: '0 3 * * *', repo: project.repo, base: 'main' });
    const b = batchHandoff(task('{"title": "t", "body": "Do X.", "context": "Why.", "instructions": "How."}'), { project: null });
    expect(b.body).toBe('## Task\n\nDo X.\n\n## Context\n\nWhy.\n\n## Instructions\n\nHow.\n');
    expect(batchHandoff(task('{"title": "Only a title"}'), { project: null }).body).toBe('## Task\n\nOnly a title\n');
  });
});

describe('a line that needs a repo under --no-repo or --no-git', () => {
  // The problems every reader finds in the handoff as it would be committed, as dispatchBatch checks it.
  const checked = (fields: Partial<Handoff>) => {
    const data = { id: 'x1', title: 't', from: 'n', created: '2026-01-01T00:00:00Z', ...fields } as Handoff;
    try {
      const r = parseBusFile('handoffs/x1.md', renderBusFile('handoff', data, 'body\n'));
      return r.ok ? [] : r.problems.filter((p) => p.severity === 'error');
    } catch (err) {
      if (!(err instanceof InvalidBusFileError)) throw err;
      return err.problems.filter((p) => p.severity === 'error');
    }
  };

  it('says in its fix that --no-repo took the checkout\'s repo away, not only "add repo"', () => {
    const found = checked({ runner: 'merge', merge: ['a', 'b'] });
    // The merge runner's repo, and its branches to merge, which only project work has.
    expect(found.map((p) => p.field).sort()).toEqual(['merge', 'repo']);
    const repo = found.find((p) => p.field === 'repo') as FileProblem;
    expect(repo.fix).toBe('add "repo: <the project\'s remote>"');
    expect(noRepoFix(repo, {}, { noCheckoutRepo: '--no-repo' })).toEqual({ ...repo, fix: 'add "repo: <the project\'s remote>"; --no-repo keeps this checkout\'s repo from every line of the batch, so this one must name its own' });
    for (const p of found) expect(noRepoFix(p, {}, { noCheckoutRepo: '--no-repo' }).fix).toContain('--no-repo keeps this checkout\'s repo');
  });

  it('names --no-git when that is what kept the checkout\'s repo from the line', () => {
    const repo = checked({ runner: 'merge', merge: ['a'] }).find((p) => p.field === 'repo') as FileProblem;
    expect(noRepoFix(repo, {}, { noCheckoutRepo: '--no-git' }).fix).toBe('add "repo: <the project\'s remote>"; --no-git leaves the checkout unread: no line of the batch takes its repo, so this one must name its own');
  });

  it('leaves the fix alone without --no-repo, for a line with a repo of its own, and for a problem a repo does not fix', () => {
    const merge = checked({ runner: 'merge', merge: ['a'] }).find((p) => p.field === 'repo') as FileProblem;
    expect(noRepoFix(merge, {}, {})).toBe(merge);
    expect(noRepoFix(merge, { repo: '/srv/app.git' }, { noCheckoutRepo: '--no-repo' })).toBe(merge);
    const noBranches = checked({ runner: 'merge', repo: '/srv/app.git' }).find((p) => p.field === 'merge') as FileProblem;
    expect(noBranches.reason).toContain('needs the branches to merge');
    expect(noRepoFix(noBranches, {}, { noCheckoutRepo: '--no-repo' })).toBe(noBranches);
  });
});

describe('rings among a batch\'s own tasks', () => {
  it('refuse each ring once, at its first line, naming every task of it with its line', () => {
    const tasks = ok('r.jsonl', lines(
      { title: 'a', id: 'ring-a', after: ['ring-b'] },
      { title: 'b', id: 'ring-b', after: ['ring-a'] },
      { title: 'c', id: 'ring-c', after: ['ring-e', 'ring-a'] },
      { title: 'd', id: 'ring-d', after: ['ring-c'] },
      { title: 'e', id: 'ring-e', after: ['ring-d', 'elsewhere'] },
      { title: 'free', id: 'free', after: ['ring-a', 'ring-c'] },
    ));
    const got = ringProblems(tasks.map((t) => ({ task: t, id: t.handoff.id ?? '', data: t.handoff })));
    expect(got.map((p) => [p.path, p.field, p.reason])).toEqual([
      ['r.jsonl:1', 'after', "the batch's tasks wait for each other in a ring, so none of them could ever run: ring-a (r.jsonl:1) -> ring-b (r.jsonl:2) -> ring-a (r.jsonl:1)"],
      ['r.jsonl:3', 'after', "the batch's tasks wait for each other in a ring, so none of them could ever run: ring-c (r.jsonl:3) -> ring-e (r.jsonl:5) -> ring-d (r.jsonl:4) -> ring-c (r.jsonl:3)"],
    ]);
    expect(ringProblems(tasks.slice(2, 4).map((t) => ({ task: t, id: t.handoff.id ?? '', data: t.handoff })))).toEqual([]);
  });
});

describe('a batch with problems, for one run that names them all', () => {
  it('keeps the lines that passed on their own for the checks against the bus (not one whose id another line chose too)', () => {
    const r = parseBatch('p.jsonl', lines({ title: 'fine' }, { title: 'x', comand: 'ls' }, 'not json', { title: 'y', to: 'elsewhere' }, { title: 'a', id: 'same' }, { title: 'b', id: 'same' }));
    if (r.ok) throw new Error('expected problems');
    expect(r.tasks.map((t) => t.at)).toEqual(['p.jsonl:1', 'p.jsonl:4', 'p.jsonl:5']);
    expect(r.problems.map((p) => p.path)).toEqual(['p.jsonl:2', 'p.jsonl:3', 'p.jsonl:6']);
  });

  it('orders problems as a person fixes them: flags first, then the file as a whole, then by line, a line\'s in their order', () => {
    const p = (path: string, field: string) => ({ path, field, reason: 'r', fix: 'f', severity: 'error' as const });
    expect(inFileOrder([p('f:10', 'to'), p('f:2', 'after'), p('f', ''), p('f:2', 'comand'), p('--to', '')]).map((x) => `${x.path} ${x.field}`)).toEqual(['--to ', 'f ', 'f:2 after', 'f:2 comand', 'f:10 to']);
  });

  it('blames --to, once, naming the lines that took it, and a line\'s own "to" on that line', () => {
    const tasks = ok('stdin', lines({ title: 'f' }, { title: 'g', to: 'nobody' }, { title: 'h' }));
    const error = (node: string) => new UnknownNodeError(node, ['laptop', 'pi']);
    const got = targetFileProblems([{ task: tasks[0] as BatchTask, error: error('nosuchnode'), refusals: [] }, { task: tasks[1] as BatchTask, error: error('nobody'), refusals: [] }, { task: tasks[2] as BatchTask, error: error('nosuchnode'), refusals: [] }], { to: 'nosuchnode' });
    expect(got.map((x) => [x.path, x.field, x.reason])).toEqual([
      ['--to', '', 'no node named "nosuchnode" is on this bus (nodes: laptop, pi) (the "to" of stdin:1, stdin:3, which have none of their own)'],
      ['stdin:2', 'to', 'no node named "nobody" is on this bus (nodes: laptop, pi)'],
    ]);
    expect(got[0]?.fix).toMatch(/^correct --to, or give those lines a "to" of their own; check the name/);
  });

  it('blames --label and --repo for the defaults they gave, each part of a refusal on what gave its value', () => {
    const tasks = ok('stdin', lines({ title: 'f', to: 'pi' }, { title: 'g', to: 'pi', labels: ['gpu'] }, { title: 'h', to: 'pi', runner: 'claude' }, { title: 'i', to: 'pi', repo: 'git@example.com:own.git' }));
    const runner: TargetRefusal = { cause: 'to', reason: 'it does not offer the claude runner (its runners: shell)', fix: 'enable it on pi', policy: false };
    const labels: TargetRefusal = { cause: 'labels', reason: 'it lacks the label(s) gpu', fix: 'drop those labels, or add them to pi (labels in its node.yaml)', policy: false };
    const repo: TargetRefusal = { cause: 'repo', reason: 'policy.repos: node pi works only on a, and the task\'s repo is "b"', fix: 'add a pattern', policy: true };
    const found = (i: number, refusals: TargetRefusal[]) => ({ task: tasks[i] as BatchTask, error: cannotRunError('pi', refusals) as NodeCannotRunError, refusals });
    const targets = [found(0, [labels, repo]), found(1, [labels, repo]), found(2, [runner, labels]), found(3, [repo])];
    const got = targetFileProblems(targets, { labels: ['gpu'], project: 'flag' });
    expect(got.map((x) => [x.path, x.field, x.reason])).toEqual([
      ['--label', '', 'node pi cannot run this task: it lacks the label(s) gpu (the "labels" of stdin:1, stdin:3, which have none of their own)'],
      ['--repo', '', 'node pi cannot run this task: its policy refuses it (policy.repos: node pi works only on a, and the task\'s repo is "b") (the "repo" of stdin:1, stdin:2, which name no project of their own)'],
      // A line's own labels and repo stay on its "to": the node it named is what they do not fit.
      ['stdin:2', 'to', 'node pi cannot run this task: it lacks the label(s) gpu'],
      ['stdin:3', 'to', 'node pi cannot run this task: it does not offer the claude runner (its runners: shell)'],
      ['stdin:4', 'to', 'node pi cannot run this task: its policy refuses it (policy.repos: node pi works only on a, and the task\'s repo is "b")'],
    ]);
    expect(got[0]?.fix).toMatch(/^correct --label, or give those lines "labels" of their own; drop those labels/);
    // The checkout's project: --repo is the flag to give.
    const checkout = targetFileProblems([found(0, [repo])], { project: 'checkout' });
    expect(checkout.map((x) => [x.path, x.reason])).toEqual([['--repo', 'node pi cannot run this task: its policy refuses it (policy.repos: node pi works only on a, and the task\'s repo is "b") (the repo of this checkout, which stdin:1 takes, naming no project of its own)']]);
    expect(checkout[0]?.fix).toMatch(/^give --repo a project that node works on, --no-repo for plain tasks, or that line a "repo" of its own; add a pattern/);
  });
});
