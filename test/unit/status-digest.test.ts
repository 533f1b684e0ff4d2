import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, resolveSettings } from '../../schemas/settings.js';
import { decodeStatusDigest, encodeStatusDigest, orderRow, STATUS_DIGEST_FORMAT, summaryLine, type DeriveFacts, type StatusDigest } from '../../bus/ops/status-digest-file.js';
import { loadNewestStatusDigest, loadStatusDigest, saveStatusDigest } from '../../bus/ops/status-digest.js';
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
  return { remote: '/srv/bus.git', order: all.map(orderRow), deps: [['t-3', ['t-1', 'gone']]], taskProblems: [['t-5', [{ path: 'handoffs/t-5.md', field: 'x', reason: 'unknown field', fix: 'remove it', severity: 'warning' }]]] };
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

describe('status digest file (pure)', () => {
  it('round-trips the core alone, or with all summaries and the facts a later status derives from when asked', () => {
    const { d, all } = digest();
    const bytes = encodeStatusDigest(BUILD, d, all.map(summaryLine), deriveFacts(all));
    const lines = all.map(summaryLine);
    expect(decodeStatusDigest(bytes, BUILD, COMMIT, false)).toEqual({ digest: d, all: null, lines: null, derive: null });
    expect(decodeStatusDigest(bytes, BUILD, COMMIT, true)).toEqual({ digest: d, all, lines: null, derive: null });
    expect(decodeStatusDigest(bytes, BUILD, COMMIT, true, true)).toEqual({ digest: d, all, lines, derive: deriveFacts(all) });
    expect(decodeStatusDigest(bytes, BUILD, COMMIT, false, true)).toEqual({ digest: d, all: null, lines, derive: deriveFacts(all) });
    // What noTaker judges cards' repo policies by comes back with each summary.
    expect(decodeStatusDigest(bytes, BUILD, COMMIT, true)?.all?.[7]?.repo).toBe('https://host/o/r7.git');
  });

  it('gives each summary\'s bytes as its own line, whatever its text holds, and none or one alike', () => {
    const { d } = digest();
    const odd = [{ ...task(1), title: 'line\nbreak, and ",\n" in a title' }, { ...task(2), title: '[\n' }, task(3)];
    for (const all of [odd, odd.slice(0, 1), []]) {
      const decoded = decodeStatusDigest(encodeStatusDigest(BUILD, d, all.map(summaryLine), deriveFacts(all)), BUILD, COMMIT, true, true);
      expect(decoded?.all).toEqual(all);
      expect(decoded?.lines?.map((l) => JSON.parse(l.toString('utf8')) as unknown)).toEqual(all);
    }
  });

  it('writes an earlier digest\'s lines copied with new ones among them as the summaries they are, in that order', () => {
    const { d, all } = digest();
    const lines = decodeStatusDigest(encodeStatusDigest(BUILD, d, all.map(summaryLine), deriveFacts(all)), BUILD, COMMIT, false, true)?.lines ?? [];
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
    const decoded = decodeStatusDigest(encodeStatusDigest(BUILD, d, mixed.map(([l]) => l), deriveFacts(want)), BUILD, COMMIT, true, true);
    expect(decoded?.all).toEqual(want);
    expect(decoded?.lines).toHaveLength(want.length);
  });

  it('is null for a file of an earlier format: its summaries carry no repo, so its noTaker would miss repo policies', () => {
    const { d, all } = digest();
    const bytes = encodeStatusDigest(BUILD, d, all.map(summaryLine), deriveFacts(all)).toString('utf8');
    const earlier = bytes.replace(`"format":${STATUS_DIGEST_FORMAT},`, `"format":${STATUS_DIGEST_FORMAT - 1},`);
    expect(earlier).not.toBe(bytes);
    expect(decodeStatusDigest(Buffer.from(earlier, 'utf8'), BUILD, COMMIT, true)).toBeNull();
  });

  it('is null for another build or commit, a file cut short, a flipped byte in either payload, or garbage', () => {
    const { d, all } = digest();
    const bytes = encodeStatusDigest(BUILD, d, all.map(summaryLine), deriveFacts(all));
    expect(decodeStatusDigest(bytes, 'other-build', COMMIT, false)).toBeNull();
    expect(decodeStatusDigest(bytes, BUILD, 'd'.repeat(40), false)).toBeNull();
    expect(decodeStatusDigest(bytes.subarray(0, bytes.length - 1), BUILD, COMMIT, false)).toBeNull();
    const core = Buffer.from(bytes);
    const headerEnd = core.indexOf(0x0a, 'gitbus-status-digest\n'.length);
    core[headerEnd + 10] = (core[headerEnd + 10] as number) ^ 0x01;
    expect(decodeStatusDigest(core, BUILD, COMMIT, false)).toBeNull();
    // A damaged list of all tasks, or damaged derive facts, fails only the readers that need it (a derivation
    // copies the summaries' bytes).
    const factsLength = Buffer.byteLength(JSON.stringify(deriveFacts(all)));
    const rest = Buffer.from(bytes);
    rest[rest.length - factsLength - 10] = (rest[rest.length - factsLength - 10] as number) ^ 0x01;
    expect(decodeStatusDigest(rest, BUILD, COMMIT, false)).not.toBeNull();
    expect(decodeStatusDigest(rest, BUILD, COMMIT, true)).toBeNull();
    expect(decodeStatusDigest(rest, BUILD, COMMIT, false, true)).toBeNull();
    const facts = Buffer.from(bytes);
    facts[facts.length - 5] = (facts[facts.length - 5] as number) ^ 0x01;
    expect(decodeStatusDigest(facts, BUILD, COMMIT, true)).not.toBeNull();
    expect(decodeStatusDigest(facts, BUILD, COMMIT, false, true)).toBeNull();
    expect(decodeStatusDigest(Buffer.from('garbage'), BUILD, COMMIT, false)).toBeNull();
    expect(decodeStatusDigest(Buffer.from('gitbus-status-digest\n{"format":1'), BUILD, COMMIT, false)).toBeNull();
  });

  it('is null for a core that passed its checksum but is not a digest of that commit', () => {
    const { d, all } = digest();
    const other = encodeStatusDigest(BUILD, { ...d, commit: 'e'.repeat(40) }, all.map(summaryLine), deriveFacts(all));
    // The header says COMMIT, the core another: written by nobody, refused all the same.
    const text = other.toString('utf8').replace(`"commit":"${'e'.repeat(40)}","coreLength"`, `"commit":"${COMMIT}","coreLength"`);
    expect(decodeStatusDigest(Buffer.from(text, 'utf8'), BUILD, COMMIT, false)).toBeNull();
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
    expect(loadNewestStatusDigest(gitdir, '9'.repeat(40), BUILD)).toMatchObject({ digest: { commit: commits[2] }, derive: deriveFacts(digest(commits[2]).all) });
    expect(loadNewestStatusDigest(gitdir, commits[2] as string, BUILD)?.digest.commit).toBe(commits[1]);
    expect(loadNewestStatusDigest(gitdir, commits[2] as string, BUILD)?.lines).toHaveLength(120);
    expect(loadNewestStatusDigest(gitdir, '9'.repeat(40), 'another-build')).toBeNull();
    const stale = join(dir, `.${'4'.repeat(40)}.123.abc.tmp`);
    writeFileSync(stale, 'half');
    utimesSync(stale, Date.now() / 1000 - 3600, Date.now() / 1000 - 3600);
    const { d, all } = digest('5'.repeat(40));
    saveStatusDigest(gitdir, d, all.map(summaryLine), deriveFacts(all), BUILD);
    expect(readdirSync(dir).sort()).toEqual([`${commits[2]}.digest`, `${'5'.repeat(40)}.digest`]);
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
