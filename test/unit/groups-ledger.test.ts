import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { groupsPath, noteGroup, recordedGroup } from '../../bus/groups-ledger.js';

const dirs: string[] = [];
function home(): string {
  const d = mkdtempSync(join(tmpdir(), 'gitbus-groups-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("a home's notes of its fan-outs", () => {
  it("give the newest fan-out of a name and the follow-ups noted after it, not an older fan-out's tasks", () => {
    const h = home();
    noteGroup(h, { kind: 'fanout', group: 'g', integration: 'old-i', ids: ['old-a', 'old-i'], at: '2026-01-01T00:00:00Z' });
    noteGroup(h, { kind: 'fanout', group: 'g', integration: 'new-i', ids: ['new-a', 'new-b', 'new-i'], at: '2026-02-01T00:00:00Z' });
    noteGroup(h, { kind: 'fanout', group: 'other', integration: 'x-i', ids: ['x-a', 'x-i'], at: '2026-02-01T00:00:00Z' });
    noteGroup(h, { kind: 'follow-up', group: 'g', integration: null, ids: ['resolve-1'], at: '2026-02-02T00:00:00Z' });
    noteGroup(h, { kind: 'follow-up', group: 'g', integration: null, ids: ['resolve-1'], at: '2026-02-02T00:00:01Z' });
    expect(recordedGroup(h, 'g')).toEqual({ kind: 'fanout', group: 'g', integration: 'new-i', ids: ['new-a', 'new-b', 'new-i', 'resolve-1'], at: '2026-02-01T00:00:00Z' });
    expect(recordedGroup(h, 'none')).toBeNull();
  });

  it('start at the newest fan-out of the name even when it has no integration (integrate: false)', () => {
    const h = home();
    noteGroup(h, { kind: 'fanout', group: 'g', integration: 'old-i', ids: ['old-a', 'old-i'], at: '2026-01-01T00:00:00Z' });
    noteGroup(h, { kind: 'fanout', group: 'g', integration: null, ids: ['solo'], at: '2026-02-01T00:00:00Z' });
    expect(recordedGroup(h, 'g')).toEqual({ kind: 'fanout', group: 'g', integration: null, ids: ['solo'], at: '2026-02-01T00:00:00Z' });
  });

  it('skip lines a crash cut short or a person edited, and a line after a cut one is kept', () => {
    const h = home();
    appendFileSync(groupsPath(h), '{"group":"g","integration":"i","ids":["a","i"],"at":"2026-01-01T00:00:00Z"}\nnot json\n{"group":"g","ids":[1]}\n{"group":"g","integr');
    noteGroup(h, { kind: 'follow-up', group: 'g', integration: null, ids: ['f'], at: '2026-01-02T00:00:00Z' });
    expect(recordedGroup(h, 'g')).toEqual({ kind: 'fanout', group: 'g', integration: 'i', ids: ['a', 'i', 'f'], at: '2026-01-01T00:00:00Z' });
  });

  it('never throw: a folder where the file goes loses the note, not the command', () => {
    const h = home();
    mkdirSync(groupsPath(h));
    expect(() => noteGroup(h, { kind: 'fanout', group: 'g', integration: 'i', ids: ['i'], at: '2026-01-01T00:00:00Z' })).not.toThrow();
    expect(recordedGroup(h, 'g')).toBeNull();
  });
});
