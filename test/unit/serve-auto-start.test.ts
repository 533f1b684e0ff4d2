import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RESTART_MS, serverWanted, WINDOW_MS, wantedMark } from '../../cli/serve/auto-start.js';

const dirs: string[] = [];
/** A bus home as far as the start looks: a folder with a node.yaml. */
function home(): string {
  const d = mkdtempSync(join(tmpdir(), 'gitbus-auto-serve-'));
  dirs.push(d);
  writeFileSync(join(d, 'node.yaml'), 'node: n\n');
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const t0 = Date.UTC(2026, 11, 3, 12);

describe('when an unserved command starts gitbus serve', () => {
  it('a lone command starts nothing; the second within the window does; one after the window does not', () => {
    const h = home();
    expect(serverWanted(h, {}, t0)).toBe(false);
    expect(existsSync(wantedMark(h))).toBe(true);
    expect(serverWanted(h, {}, t0 + 1000)).toBe(true);
    expect(serverWanted(h, {}, t0 + 1000 + WINDOW_MS + 1)).toBe(false);
    expect(Math.round(statSync(wantedMark(h)).mtimeMs)).toBe(t0 + 1000 + WINDOW_MS + 1);
  });

  it('starts one at most once a minute, however many commands find nothing serving (one that cannot serve here)', () => {
    const h = home();
    expect(serverWanted(h, {}, t0)).toBe(false);
    expect(serverWanted(h, {}, t0 + 1000)).toBe(true);
    expect(serverWanted(h, {}, t0 + 2000)).toBe(false);
    expect(serverWanted(h, {}, t0 + 1000 + RESTART_MS - 1)).toBe(false);
    expect(serverWanted(h, {}, t0 + 1000 + RESTART_MS)).toBe(true);
  });

  it('never with GITBUS_SERVE_AUTO=0 (and nothing is written then)', () => {
    const h = home();
    expect(serverWanted(h, { GITBUS_SERVE_AUTO: '0' }, t0)).toBe(false);
    expect(serverWanted(h, { GITBUS_SERVE_AUTO: '0' }, t0 + 1)).toBe(false);
    expect(existsSync(wantedMark(h))).toBe(false);
  });

  it('never where a live watcher holds the home (one started with --no-serve serves nothing, and wants no server); a dead one holds nothing', () => {
    const h = home();
    writeFileSync(join(h, 'watcher.lock'), JSON.stringify({ pid: process.pid, host: 'here' }));
    expect(serverWanted(h, {}, t0)).toBe(false);
    expect(serverWanted(h, {}, t0 + 1)).toBe(false);
    // Above Linux's largest pid (4194304): no such process. A watcher killed with its lock left behind.
    writeFileSync(join(h, 'watcher.lock'), JSON.stringify({ pid: 4_194_305, host: 'here' }));
    expect(serverWanted(h, {}, t0 + 2)).toBe(true);
  });

  it('never in a folder that is not a bus home, and writes nothing there (a project folder given as --home)', () => {
    const h = home();
    rmSync(join(h, 'node.yaml'));
    expect(serverWanted(h, {}, t0)).toBe(false);
    expect(serverWanted(h, {}, t0 + 1)).toBe(false);
    expect(readdirSync(h)).toEqual([]);
  });

  it('never for a home that does not exist, nor when the clock went back', () => {
    expect(serverWanted(join(home(), 'missing'), {}, t0)).toBe(false);
    const h = home();
    expect(serverWanted(h, {}, t0)).toBe(false);
    expect(serverWanted(h, {}, t0 - 5000)).toBe(false);
  });
});
