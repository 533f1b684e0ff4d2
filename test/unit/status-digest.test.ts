import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, resolveSettings } from '../../schemas/settings.js';
import { bytesOf, encodeStatusDelta, encodeStatusDigest, openStatusDigest, orderRow, STATUS_DIGEST_FORMAT, summaryLine, type DeltaChanges, type DeriveFacts, type DigestBytes, type StatusDigest } from '../../bus/ops/status-digest-file.js';
import { applyDelta, loadNewestStatusDigest, loadStatusDigest, saveStatusDelta, saveStatusDigest } from '../../bus/ops/status-digest.js';
import type { TaskSummary } from '../../bus/ops/task-summary.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const COMMIT = 'c'.repeat(40);
const BUILD = 'test-build';

function task(i: number, state: TaskSummary['state'] = 'pending'): TaskSummary {
  return { id: `t-${i}`, state, title: `task ${i}`, from: 'x', created: '2026-11-01T00:00:00.000Z', to: null, labels: ['é', 'gpu'], runner: 'shell', priority: i % 3, attempts: 0, exhausted: false, claim: null, response: null, waitingFor: [], waitingOn: [], problems: [], repo: i % 7 === 0 ? `https://host/o/r${i}.git` : null, branch: null, group: null, claude: null, progress: null };
}

/** What a status of a later commit derives its own from: each task's order row, a dependency, a task's problems. */
function deriveFacts(all: TaskSummary[]): DeriveFacts {
  return { remote: '/srv/bus.git', order: all.map(orderRow), deps: [['t-3', ['t-1', 'gone']]], taskProblems: [['t-5', [{ path: 'handoffs/t-5.md', field: 'x', reason: 'unknown field', fix: 'remove it', severity: 'warning' }]]], spare: all.slice(60, 70) };
}

function digest(commit = COMMIT): { d: StatusDigest; all: TaskSummary[] } {
  const all = Array.from({ length: 120 }, (_, i) => task(i, i % 10 === 0 ? 'blocked' : 'pending'));
  const d: StatusDigest = {
    commit,
    settings: resolveSettings(DEFAULT_SETTINGS),
    nodes: [{ node: 'a', problems: [] }],
    counts: { pending: 108, blocked: 12 },
    top: all.slice(0, 60),
    problems: [{ path: 'handoffs/x.md', field: 'priority', reason: 'not a number', fix: 'write a number', severity: 'error' }],
    holders: [['a', ['t-1.1']]],
    external: { asked: ['gone'], found: [['old', 'succeeded']] },
  };
  return { d, all };
}

/** A full digest opened from its bytes, and every payload of it as the readers ask for them. */
function opened(bytes: Buffer, build = BUILD, commit = COMMIT) {
  const f = openStatusDigest(bytesOf(bytes), build, commit);
  if (f?.kind !== 'full') return f === null ? null : { kind: f.kind };
  return { core: f.core(), facts: f.facts(), all: f.all(), lines: f.lines() };
}

/** DigestBytes that note the ranges read. */
function noting(bytes: Buffer): { bytes: DigestBytes; reads: [number, number][] } {
  const reads: [number, number][] = [];
  const inner = bytesOf(bytes);
  return { bytes: { size: inner.size, read: (start, length) => (reads.push([start, length]), inner.read(start, length)) }, reads };
}

describe('status digest file (pure)', () => {
  it('round-trips the core, the facts a later status derives from and every summary', () => {
    const { d, all } = digest();
    const got = opened(encodeStatusDigest(BUILD, d, all.map(summaryLine), deriveFacts(all)));
    expect(got).toEqual({ core: d, facts: deriveFacts(all), all, lines: all.map(summaryLine) });
    // What noTaker judges cards' repo policies by comes back with each summary.
    expect(got?.all?.[7]?.repo).toBe('https://host/o/r7.git');
  });

  it('reads the core alone for a plain status: not the facts, not a summary', () => {
    const { d, all } = digest();
    const bytes = encodeStatusDigest(BUILD, d, all.map(summaryLine), deriveFacts(all));
    const { bytes: src, reads } = noting(bytes);
    expect(openStatusDigest(src, BUILD, COMMIT)?.core()).toEqual(d);
    const coreEnd = bytes.indexOf(Buffer.from(JSON.stringify(deriveFacts(all)), 'utf8'));
    expect(coreEnd).toBeGreaterThan(0);
    expect(reads.every(([start, length]) => start + length <= coreEnd)).toBe(true);
  });

  it("gives each summary's bytes as its own line, whatever its text holds, and none or one alike", () => {
    const { d } = digest();
    const odd = [{ ...task(1), title: 'line\nbreak, and ",\n" in a title' }, { ...task(2), title: '[\n' }, task(3)];
    for (const all of [odd, odd.slice(0, 1), []]) {
      const got = opened(encodeStatusDigest(BUILD, d, all.map(summaryLine), deriveFacts(all)));
      expect(got?.all).toEqual(all);
      expect(got?.lines?.map((l) => JSON.parse(l.toString('utf8')) as unknown)).toEqual(all);
    }
  });

  it("writes an earlier digest's lines copied with new ones among them as the summaries they are, in that order", () => {
    const { d, all } = digest();
    const lines = opened(encodeStatusDigest(BUILD, d, all.map(summaryLine), deriveFacts(all)))?.lines ?? [];
    expect(lines).toHaveLength(120);
    // Runs of copied lines, lines dropped between them, new lines (small buffers, which may share memory) among them.
    const fresh = (i: number) => ({ ...task(1000 + i), title: `fresh ${i}` });
    const mixed: [Buffer, TaskSummary][] = [];
    all.forEach((t, i) => {
      if (i % 17 === 3) return;
      if (i % 11 === 0) mixed.push([summaryLine(fresh(i)), fresh(i)], [summaryLine(fresh(i + 1)), fresh(i + 1)]);
      mixed.push([lines[i] as Buffer, t]);
    });
    const want = mixed.map(([, t]) => t);
    const got = opened(encodeStatusDigest(BUILD, d, mixed.map(([l]) => l), deriveFacts(want)));
    expect(got?.all).toEqual(want);
    expect(got?.lines).toHaveLength(want.length);
  });

  it('round-trips a delta: its core, its base, its changes and the lines of its fresh tasks', () => {
    const { d, all } = digest('d'.repeat(40));
    const fresh = [task(500), task(501, 'blocked')];
    const changes: DeltaChanges = { remote: '/srv/bus.git', drop: ['t-1', 't-2'], fresh: fresh.map(orderRow), deps: [], taskProblems: [] };
    const f = openStatusDigest(bytesOf(encodeStatusDelta(BUILD, d, COMMIT, all.length, changes, fresh.map(summaryLine))), BUILD, 'd'.repeat(40));
    expect(f?.kind).toBe('delta');
    if (f?.kind !== 'delta') return;
    expect({ base: f.base, tasks: f.tasks, core: f.core(), changes: f.changes(), lines: f.lines() }).toEqual({ base: COMMIT, tasks: 120, core: d, changes, lines: fresh.map(summaryLine) });
    // A delta on itself is nobody's.
    expect(openStatusDigest(bytesOf(encodeStatusDelta(BUILD, d, 'd'.repeat(40), all.length, changes, fresh.map(summaryLine))), BUILD, 'd'.repeat(40))).toBeNull();
  });

  it('puts a delta together from its base: the base without the dropped tasks, the fresh ones in queue order', () => {
    const { all } = digest();
    const order = all.map(orderRow).sort((a, b) => b[2] - a[2] || (a[0] < b[0] ? -1 : 1));
    const fresh = [{ ...task(1000), priority: 2 }, { ...task(1001), priority: 0 }, { ...task(3), priority: 2, title: 'changed' }];
    const rows = fresh.map(orderRow).sort((a, b) => b[2] - a[2] || (a[0] < b[0] ? -1 : 1));
    const lines = rows.map((r) => summaryLine(fresh.find((t) => t.id === r[0]) as TaskSummary));
    const entries = applyDelta(order, { drop: ['t-3', 't-4'], fresh: rows }, lines);
    const want = [...order.filter((r) => r[0] !== 't-3' && r[0] !== 't-4'), ...rows].sort((a, b) => b[2] - a[2] || (a[0] < b[0] ? -1 : 1));
    expect(entries.map((e) => e.row)).toEqual(want);
    for (const e of entries) {
      if (e.root !== undefined) expect(order[e.root]).toBe(e.row);
      else expect((JSON.parse((e.line as Buffer).toString('utf8')) as TaskSummary).id).toBe(e.row[0]);
    }
  });

  it('is null for a file of an earlier format: its summaries carry no repo, so its noTaker would miss repo policies', () => {
    const { d, all } = digest();
    const bytes = encodeStatusDigest(BUILD, d, all.map(summaryLine), deriveFacts(all)).toString('utf8');
    const earlier = bytes.replace(`"format":${STATUS_DIGEST_FORMAT},`, `"format":${STATUS_DIGEST_FORMAT - 1},`);
    expect(earlier).not.toBe(bytes);
    expect(openStatusDigest(bytesOf(Buffer.from(earlier, 'utf8')), BUILD, COMMIT)).toBeNull();
  });

  it('is null for another build or commit, a file cut short or garbage; a flipped byte fails only the readers of its payload', () => {
    const { d, all } = digest();
    const bytes = encodeStatusDigest(BUILD, d, all.map(summaryLine), deriveFacts(all));
    expect(opened(bytes, 'other-build')).toBeNull();
    expect(opened(bytes, BUILD, 'd'.repeat(40))).toBeNull();
    expect(opened(bytes.subarray(0, bytes.length - 1))).toBeNull();
    const flipped = (at: number) => {
      const b = Buffer.from(bytes);
      b[at] = (b[at] as number) ^ 0x01;
      return opened(b);
    };
    const headerEnd = bytes.indexOf(0x0a, 'gitbus-status-digest\n'.length);
    expect(flipped(headerEnd + 10)).toMatchObject({ core: null, facts: deriveFacts(all), all });
    const factsAt = bytes.indexOf(Buffer.from(JSON.stringify(deriveFacts(all)), 'utf8'));
    expect(flipped(factsAt + 10)).toMatchObject({ core: d, facts: null, all });
    expect(flipped(bytes.length - 10)).toMatchObject({ core: d, facts: deriveFacts(all), all: null, lines: null });
    expect(opened(Buffer.from('garbage'))).toBeNull();
    expect(opened(Buffer.from('gitbus-status-digest\n{"format":1'))).toBeNull();
  });

  it('is null for a core that passed its checksum but is not a digest of that commit', () => {
    const { d, all } = digest();
    const other = encodeStatusDigest(BUILD, { ...d, commit: 'e'.repeat(40) }, all.map(summaryLine), deriveFacts(all));
    // The header says COMMIT, the core another: written by nobody, refused all the same.
    const text = other.toString('utf8').replace(`"commit":"${'e'.repeat(40)}","kind"`, `"commit":"${COMMIT}","kind"`);
    expect(text).not.toBe(other.toString('utf8'));
    expect(opened(Buffer.from(text, 'utf8'))?.core).toBeNull();
  });
});

describe('status digest files on disk', () => {
  it('loads what was saved, keeps the two newest and removes temp files of writers that died', () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'gitbus-status-digest-'));
    dirs.push(gitdir);
    const dir = join(gitdir, 'gitbus-cache', 'status');
    const commits = ['1', '2', '3'].map((c) => c.repeat(40));
    let t = Date.now() / 1000 - 100;
    for (const c of commits) {
      const { d, all } = digest(c);
      expect(saveStatusDigest(gitdir, d, all.map(summaryLine), deriveFacts(all), BUILD)).toBe(true);
      // Distinct write times, in order, whatever the file system's resolution.
      utimesSync(join(dir, `${c}.digest`), (t += 10), t);
    }
    expect(readdirSync(dir).sort()).toEqual([`${commits[1]}.digest`, `${commits[2]}.digest`]);
    expect(loadStatusDigest(gitdir, commits[2] as string, true, BUILD)?.all).toHaveLength(120);
    expect(loadStatusDigest(gitdir, commits[0] as string, false, BUILD)).toBeNull();
    expect(loadStatusDigest(gitdir, commits[2] as string, false, 'another-build')).toBeNull();
    // What a status of another commit derives from: the newest digest of any other commit, whole.
    const facts = deriveFacts(digest(commits[2]).all);
    expect(loadNewestStatusDigest(gitdir, '9'.repeat(40), BUILD)).toMatchObject({ digest: { commit: commits[2] }, root: commits[2], remote: facts.remote, rootOrder: facts.order, deps: facts.deps, taskProblems: facts.taskProblems });
    expect(loadNewestStatusDigest(gitdir, commits[2] as string, BUILD)?.digest.commit).toBe(commits[1]);
    expect(loadNewestStatusDigest(gitdir, commits[2] as string, BUILD)?.rootLines()).toHaveLength(120);
    expect(loadNewestStatusDigest(gitdir, '9'.repeat(40), 'another-build')).toBeNull();
    const stale = join(dir, `.${'4'.repeat(40)}.123.abc.tmp`);
    writeFileSync(stale, 'half');
    utimesSync(stale, Date.now() / 1000 - 3600, Date.now() / 1000 - 3600);
    const { d, all } = digest('5'.repeat(40));
    saveStatusDigest(gitdir, d, all.map(summaryLine), deriveFacts(all), BUILD);
    expect(readdirSync(dir).sort()).toEqual([`${commits[2]}.digest`, `${'5'.repeat(40)}.digest`]);
  });

  it("loads a delta together with its base, keeps the base while a kept delta names it, and not once none does", () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'gitbus-status-digest-'));
    dirs.push(gitdir);
    const dir = join(gitdir, 'gitbus-cache', 'status');
    let t = Date.now() / 1000 - 100;
    const stamp = (name: string) => utimesSync(join(dir, name), (t += 10), t);
    const root = '1'.repeat(40);
    const queue = (a: TaskSummary, b: TaskSummary) => b.priority - a.priority || (a.id < b.id ? -1 : 1);
    const { d } = digest(root);
    // A full digest's tasks are in queue order (all created at once: by priority, then id).
    const all = digest(root).all.sort(queue);
    saveStatusDigest(gitdir, d, all.map(summaryLine), deriveFacts(all), BUILD);
    stamp(`${root}.digest`);
    // Two deltas on it, one after the other: t-1 gone, t-2 changed, t-900 new.
    const fresh = [{ ...task(2), title: 'changed' }, task(900)].sort(queue);
    const want = [...all.filter((x) => x.id !== 't-1' && x.id !== 't-2'), ...fresh].sort(queue);
    const changes: DeltaChanges = { remote: '/srv/bus.git', drop: ['t-1', 't-2'], fresh: fresh.map(orderRow), deps: [], taskProblems: [] };
    const deltas = ['2', '3'].map((c) => c.repeat(40));
    for (const c of deltas) {
      expect(saveStatusDelta(gitdir, { ...d, commit: c }, root, want.length, changes, fresh.map(summaryLine), BUILD)).toBe(true);
      stamp(`${c}.${root}.digest`);
    }
    expect(readdirSync(dir).sort()).toEqual([`${root}.digest`, ...deltas.map((c) => `${c}.${root}.digest`)]);
    // status --json of a delta's commit: every summary, in queue order.
    expect(loadStatusDigest(gitdir, deltas[1] as string, true, BUILD)).toEqual({ digest: { ...d, commit: deltas[1] }, all: want });
    expect(loadStatusDigest(gitdir, deltas[1] as string, false, BUILD)).toEqual({ digest: { ...d, commit: deltas[1] }, all: null });
    // What a later status derives from: the delta's tasks, each with its summary's place (the base's, or its own).
    const base = loadNewestStatusDigest(gitdir, '9'.repeat(40), BUILD);
    expect(base?.digest.commit).toBe(deltas[1]);
    expect(base?.root).toBe(root);
    const summaries = base?.entries.map((e) => JSON.parse((e.line ?? (base.rootLines()?.[e.root as number] as Buffer)).toString('utf8')) as TaskSummary);
    expect(summaries).toEqual(want);
    expect(base?.entries.filter((e) => e.line).map((e) => e.row[0])).toEqual(fresh.map((x) => x.id));
    // A base whose summaries are damaged is no base: removed, so that the next status writes one again.
    const copy = readFileSync(join(dir, `${root}.digest`));
    const damaged = Buffer.from(copy);
    damaged[damaged.length - 5] = (damaged[damaged.length - 5] as number) ^ 0x01;
    writeFileSync(join(dir, `${root}.digest`), damaged);
    expect(loadStatusDigest(gitdir, deltas[1] as string, true, BUILD)).toBeNull();
    expect(readdirSync(dir)).not.toContain(`${root}.digest`);
    writeFileSync(join(dir, `${root}.digest`), copy);
    stamp(`${root}.digest`);
    stamp(`${deltas[1]}.${root}.digest`);
    // A delta whose base is gone is no digest; a full digest no kept delta names is pruned.
    const other = '4'.repeat(40);
    saveStatusDigest(gitdir, { ...d, commit: other }, all.map(summaryLine), deriveFacts(all), BUILD);
    stamp(`${other}.digest`);
    expect(readdirSync(dir).sort()).toEqual([`${root}.digest`, `${deltas[1]}.${root}.digest`, `${other}.digest`]);
    const last = '5'.repeat(40);
    saveStatusDigest(gitdir, { ...d, commit: last }, all.map(summaryLine), deriveFacts(all), BUILD);
    expect(readdirSync(dir).sort()).toEqual([`${other}.digest`, `${last}.digest`]);
    rmSync(join(dir, `${other}.digest`));
    saveStatusDelta(gitdir, { ...d, commit: deltas[0] as string }, other, want.length, changes, fresh.map(summaryLine), BUILD);
    expect(loadStatusDigest(gitdir, deltas[0] as string, true, BUILD)).toBeNull();
    expect(loadNewestStatusDigest(gitdir, '9'.repeat(40), BUILD)).toBeNull();
  });

  it('saving into a folder that cannot be made says false and throws nothing', () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'gitbus-status-digest-'));
    dirs.push(gitdir);
    writeFileSync(join(gitdir, 'gitbus-cache'), 'a file where the folder would be');
    const { d, all } = digest();
    expect(saveStatusDigest(gitdir, d, all.map(summaryLine), deriveFacts(all), BUILD)).toBe(false);
    expect(loadStatusDigest(gitdir, COMMIT, false, BUILD)).toBeNull();
  });
});
