import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pruneTaskLogs } from '../../watcher/prune-logs.js';

const DAY = 24 * 3600_000;
let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, ageDays: number): void {
  writeFileSync(join(dir, name), 'output\n');
  const t = (Date.now() - ageDays * DAY) / 1000;
  utimesSync(join(dir, name), t, t);
}

describe('pruneTaskLogs', () => {
  it('removes task and icecc logs older than the limit, keeps running tasks, newer logs and other files', () => {
    dir = mkdtempSync(join(tmpdir(), 'gitbus-logs-'));
    file('20261001-000000-aaaaaa.1.log', 30);
    file('20261001-000000-aaaaaa.1.icecc.log', 30);
    file('20261001-000000-bbbbbb.2.log', 30); // still running: kept
    file('20261120-000000-cccccc.1.log', 1);
    file('watcher.log', 30); // a service's own log: not a task log
    mkdirSync(join(dir, 'sub.1.log')); // a folder that looks like a log: left alone
    const removed = pruneTaskLogs(dir, 14 * DAY, new Set(['20261001-000000-bbbbbb.2']));
    expect(removed).toEqual(['20261001-000000-aaaaaa.1.icecc.log', '20261001-000000-aaaaaa.1.log']);
    expect(readdirSync(dir).sort()).toEqual(['20261001-000000-bbbbbb.2.log', '20261120-000000-cccccc.1.log', 'sub.1.log', 'watcher.log']);
  });

  it('keeps everything with a limit of 0, and copes with a missing folder', () => {
    dir = mkdtempSync(join(tmpdir(), 'gitbus-logs-'));
    file('t.1.log', 400);
    expect(pruneTaskLogs(dir, 0, new Set())).toEqual([]);
    expect(readdirSync(dir)).toEqual(['t.1.log']);
    expect(pruneTaskLogs(join(dir, 'missing'), DAY, new Set())).toEqual([]);
  });
});
