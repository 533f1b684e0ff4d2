import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactLedger, ledgerPath, parseLedger, recordSpend, spendToday, spentOn, utcDay } from '../../bus/spend-ledger.js';
import { SpendCap, leftToday, ownBudget, spendCheck } from '../../watcher/spend-cap.js';
import { beatDetails } from '../../bus/ops/heartbeat.js';
import { progressOf, progressText } from '../../bus/progress.js';
import { applyClaudeFlags, claudeFromFlags } from '../../cli/claude-flags.js';

const homes: string[] = [];
const home = () => {
  const h = mkdtempSync(join(tmpdir(), 'gitbus-spend-'));
  homes.push(h);
  return h;
};
afterAll(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));

const NOON = new Date('2026-11-30T12:00:00.000Z');
const entry = (at: string, id: string, costUsd: number, attempt = 1) => ({ at, id, attempt, costUsd });

describe('the spend ledger', () => {
  it('sums the runs of one UTC day; a run recorded twice counts once', () => {
    const entries = [entry('2026-11-29T23:59:59.000Z', 'late', 5), entry('2026-11-30T00:00:00.000Z', 'a', 1.25), entry('2026-11-30T10:00:00.000Z', 'b', 0.5), entry('2026-11-30T11:00:00.000Z', 'b', 0.5)];
    expect(spentOn(entries, '2026-11-30')).toBe(1.75);
    expect(spentOn(entries, '2026-11-29')).toBe(5);
    expect(utcDay(new Date('2026-11-30T23:30:00-02:00'))).toBe('2026-12-01');
  });

  it('skips lines that are cut short or make no sense', () => {
    const text = `${JSON.stringify(entry('2026-11-30T01:00:00Z', 'a', 1))}\n{"at":"2026-11-30T02:00:00Z","id":"b","attempt":1,"cost\n${JSON.stringify(entry('2026-11-30T03:00:00Z', 'c', -4))}\nnot json\n`;
    expect(parseLedger(text)).toEqual([entry('2026-11-30T01:00:00Z', 'a', 1)]);
  });

  it('records, reads today with the cap, and keeps only today and yesterday', () => {
    const h = home();
    recordSpend(h, entry('2026-11-27T10:00:00.000Z', 'old', 9));
    recordSpend(h, entry('2026-11-29T10:00:00.000Z', 'yesterday', 2));
    recordSpend(h, entry('2026-11-30T10:00:00.000Z', 'today', 3.5));
    expect(spendToday(h, 20, NOON)).toEqual({ day: '2026-11-30', spentUsd: 3.5, capUsd: 20 });
    compactLedger(h, NOON);
    expect(parseLedger(readFileSync(ledgerPath(h), 'utf8')).map((e) => e.id)).toEqual(['yesterday', 'today']);
    expect(spendToday(h, undefined, NOON).capUsd).toBeNull();
  });
});

describe('the daily cap as the watcher applies it', () => {
  it("a run's own budget is the lower of the handoff's and the node's", () => {
    expect(ownBudget({ title: 't', claude: { maxBudgetUsd: 5 } }, { maxBudgetUsd: 2 })).toBe(2);
    expect(ownBudget({ title: 't' }, {})).toBe(Number.POSITIVE_INFINITY);
    expect(leftToday(20, 18.456, 1)).toBe(0.54);
  });

  it('running runs reserve what they may spend; claude tasks are not claimed once nothing is left; a settled run counts its cost', () => {
    const h = home();
    recordSpend(h, entry(new Date().toISOString(), 'done', 6));
    const cap = new SpendCap(h, { maxSpendUsdPerDay: 10, maxBudgetUsd: 3 });
    expect(cap.mayClaim()).toBe(true);
    expect(cap.reserve('a.1', { title: 'a' })).toEqual({ capUsd: 10, spentUsd: 6 });
    // 3 reserved by a.1 (the node's per-task budget): 1 left for the next, which it reserves whole.
    expect(cap.reserve('b.1', { title: 'b' })).toEqual({ capUsd: 10, spentUsd: 9 });
    expect(cap.mayClaim()).toBe(false);
    cap.settle('a.1', { id: 'a', attempt: 1, costUsd: 0.5 });
    expect(cap.today().spentUsd).toBe(6.5);
    expect(cap.mayClaim()).toBe(true);
    cap.settle('b.1', { id: 'b', attempt: 1, costUsd: undefined });
    expect(cap.limit()).toEqual({ capUsd: 10, spentUsd: 6.5 });
  });

  it('a node without a cap claims freely and still records spend; doctor says where the day stands', () => {
    const h = home();
    const cap = new SpendCap(h, {});
    expect(cap.reserve('a.1', { title: 'a' })).toBeUndefined();
    cap.settle('a.1', { id: 'a', attempt: 1, costUsd: 1.5 });
    expect(cap.today()).toMatchObject({ spentUsd: 1.5, capUsd: null });
    expect(spendCheck(h, { node: 'n', remote: 'r', labels: [], runners: ['claude'], parallel: 1 })).toMatchObject({ status: 'ok', detail: expect.stringContaining('$1.5 spent by claude runs today') });
    expect(spendCheck(h, { node: 'n', remote: 'r', labels: [], runners: ['claude'], parallel: 1, claude: { maxSpendUsdPerDay: 1.5 } })).toMatchObject({ status: 'warn', detail: expect.stringContaining('the daily cap of $1.5 is reached') });
  });
});

describe('progress and spend in a heartbeat', () => {
  it('reads each run\'s progress and the node\'s spend; drops what does not fit', () => {
    const doc = {
      node: 'gpu',
      running: [{ id: 't1', attempt: 2, progress: { text: 'halfway\u001b[31m there', at: '2026-11-30T12:00:00.000Z' } }, { id: 't2', attempt: 1, progress: { text: 'x', at: 'yesterday' } }, { id: 't3', attempt: 1 }],
      claude: { day: '2026-11-30', spentUsd: 3.5, capUsd: 20 },
    };
    expect(beatDetails(doc)).toEqual({ progress: { 't1.2': { text: 'halfway there', at: '2026-11-30T12:00:00.000Z' } }, logs: {}, spend: { day: '2026-11-30', spentUsd: 3.5, capUsd: 20 }, delivering: {} });
    expect(beatDetails({ claude: { day: 'today', spentUsd: 1 } }).spend).toBeNull();
    expect(beatDetails('garbage')).toEqual({ progress: {}, logs: {}, spend: null, delivering: {} });
  });

  it("reads a run's log size and path when its tail is only the end; drops one that does not fit", () => {
    const run = (id: string, log: unknown) => ({ id, attempt: 1, log });
    const doc = {
      running: [
        run('ok', { bytes: 10_000, path: '/home/pi/.gitbus/logs/ok.1.log' }),
        run('neg', { bytes: -1, path: '/p' }),
        run('float', { bytes: 1.5, path: '/p' }),
        run('huge', { bytes: 2 ** 60, path: '/p' }),
        run('text', { bytes: '10', path: '/p' }),
        run('nopath', { bytes: 10 }),
        run('newline', { bytes: 10, path: '/a\nb' }),
        run('escape', { bytes: 10, path: '/a\u001b[2Jb' }),
        run('long', { bytes: 10, path: `/${'x'.repeat(5000)}` }),
        run('scalar', 'big'),
      ],
    };
    expect(beatDetails(doc).logs).toEqual({ 'ok.1': { bytes: 10_000, path: '/home/pi/.gitbus/logs/ok.1.log' } });
  });

  it('a progress line is one line of plain text, capped', () => {
    expect(progressText('tests\npass\t now ')).toBe('tests pass now');
    expect([...progressText('é'.repeat(600))]).toHaveLength(500);
    expect(progressOf({ text: '', at: '2026-11-30T12:00:00Z' })).toBeNull();
  });
});

describe('dispatch flags for claude', () => {
  it('become the handoff\'s claude requests and imply the claude runner', () => {
    const h: { title: string; runner?: 'claude' | 'shell'; claude?: Record<string, unknown>; command?: string } = { title: 't' };
    applyClaudeFlags(h, { model: 'opus', maxBudgetUsd: 2.5, maxTurns: 8, permissionMode: 'acceptEdits', allowedTools: ['Read', 'Bash(git *)'], interactive: true, resumeSession: 'abc' });
    expect(h).toEqual({ title: 't', runner: 'claude', claude: { model: 'opus', permissionMode: 'acceptEdits', allowedTools: ['Read', 'Bash(git *)'], maxBudgetUsd: 2.5, maxTurns: 8, resume: 'abc', interactive: true } });
    expect(claudeFromFlags({})).toBeNull();
    expect(() => applyClaudeFlags({ title: 't', runner: 'shell' }, { model: 'opus' })).toThrow(/--runner is shell/);
    expect(() => applyClaudeFlags({ title: 't' }, { resumeSession: 'abc', resume: 'task1' })).toThrow(/both name a session/);
    // Flags after --resume TASK: its session stays, the flags add to what it kept.
    const resumed = { title: 't', runner: 'claude' as const, claude: { model: 'sonnet', resume: 's1' } };
    applyClaudeFlags(resumed, { maxTurns: 3 });
    expect(resumed.claude).toEqual({ model: 'sonnet', resume: 's1', maxTurns: 3 });
  });
});
