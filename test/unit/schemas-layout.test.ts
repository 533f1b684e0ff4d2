import { describe, it, expect } from 'vitest';
import type { FileProblem } from '../../schemas/errors.js';
import { InvalidIdError } from '../../schemas/ids.js';
import { classifyEntry, classifyPath, isFileProblem, LIVE_FOLDERS, pathFor, type BusPath } from '../../schemas/layout.js';
import { archiveMonthOf, archivePathFor, parseArchivePath } from '../../schemas/archive-layout.js';

const ID = '20261121-042933-k3f9qx';

function problemOf(result: ReturnType<typeof classifyEntry> | ReturnType<typeof parseArchivePath> | undefined): FileProblem {
  if (!isFileProblem(result)) throw new Error(`expected a problem, got ${JSON.stringify(result)}`);
  return result;
}

describe('pathFor', () => {
  it.each<[BusPath, string]>([
    [{ kind: 'settings' }, 'gitbus.yaml'],
    [{ kind: 'handoff', id: ID }, `handoffs/${ID}.md`],
    [{ kind: 'claim', id: ID, attempt: 2 }, `claims/${ID}.2.md`],
    [{ kind: 'release', id: ID, attempt: 1 }, `releases/${ID}.1.md`],
    [{ kind: 'cancel', id: ID }, `cancels/${ID}.md`],
    [{ kind: 'response', id: ID }, `responses/${ID}.md`],
    [{ kind: 'node', node: 'gpu-box' }, 'nodes/gpu-box.md'],
  ])('%j → %s, and classifies back', (p, path) => {
    expect(pathFor(p)).toBe(path);
    expect(classifyPath(path)).toEqual(p);
  });

  it('refuses to build a path from an invalid id, attempt or node', () => {
    expect(() => pathFor({ kind: 'handoff', id: '../../etc/passwd' })).toThrow(InvalidIdError);
    expect(() => pathFor({ kind: 'handoff', id: 'Abc' })).toThrow(/is not a task id/);
    expect(() => pathFor({ kind: 'claim', id: ID, attempt: 0 })).toThrow(/is not an attempt number/);
    expect(() => pathFor({ kind: 'claim', id: ID, attempt: 1.5 })).toThrow(InvalidIdError);
    expect(() => pathFor({ kind: 'node', node: 'a/b' })).toThrow(/is not a node name/);
  });

  it('lists the live folders', () => {
    expect(LIVE_FOLDERS).toEqual(['handoffs', 'claims', 'releases', 'cancels', 'responses', 'deliveries', 'nodes']);
  });
});

describe('classifyEntry', () => {
  it('accepts the naming rule of every folder', () => {
    expect(classifyEntry('handoffs', 'a.md', '100644')).toEqual({ kind: 'handoff', id: 'a' });
    expect(classifyEntry('claims', 'a.12.md', '100755')).toEqual({ kind: 'claim', id: 'a', attempt: 12 });
    expect(classifyEntry('releases', 'a_b-c.3.md', '100644')).toEqual({ kind: 'release', id: 'a_b-c', attempt: 3 });
    expect(classifyEntry('cancels', 'a.md', '100644')).toEqual({ kind: 'cancel', id: 'a' });
    expect(classifyEntry('responses', 'a.md', '100644')).toEqual({ kind: 'response', id: 'a' });
    expect(classifyEntry('nodes', 'gpu-box.md', '100644')).toEqual({ kind: 'node', node: 'gpu-box' });
  });

  it('reports README.md as a warning, not an error', () => {
    const p = problemOf(classifyEntry('handoffs', 'README.md', '100644'));
    expect(p).toMatchObject({ path: 'handoffs/README.md', field: '', severity: 'warning' });
    expect(p.reason).toMatch(/README\.md in handoffs\/ is not a bus file/);
  });

  it.each([
    ['120000', /symbolic link; gitbus never follows links/],
    ['160000', /submodule; gitbus never follows submodules/],
    ['040000', /it is a folder; handoffs\/ holds only files/],
    ['40000', /it is a folder/],
    ['100000', /unknown git mode 100000/],
  ])('reports mode %s', (mode, reason) => {
    const p = problemOf(classifyEntry('handoffs', 'a.md', mode));
    expect(p).toMatchObject({ path: 'handoffs/a.md', field: '', severity: 'error' });
    expect(p.reason).toMatch(reason);
  });

  it.each<[string, string, RegExp, RegExp?]>([
    ['handoffs', '../x.md', /cannot contain "\/"/],
    ['handoffs', 'a/b', /cannot contain "\/"/],
    ['handoffs', '..md', /not a valid task id: it contains "\."/],
    ['handoffs', '.md', /not a valid task id: it is empty/],
    ['handoffs', 'x.md.', /is not a \.md file/],
    ['handoffs', 'x.', /is not a \.md file/],
    ['handoffs', 'x..md', /it contains "\."/],
    ['handoffs', 'notes.txt', /"notes\.txt" is not a \.md file; handoffs\/ holds only files named <id>\.md/],
    ['handoffs', 'Task.md', /it has upper-case letters/, /rename it to handoffs\/task\.md/],
    ['handoffs', 'x.MD', /is not a \.md file/],
    ['handoffs', 'tаsk.md', /"а" \(U\+0430\), which is not an ASCII letter or digit/],
    ['handoffs', 'ｔask.md', /U\+FF54/],
    ['handoffs', 'my task.md', /white space \(U\+0020\)/],
    ['handoffs', 'task\u00a0x.md', /white space \(U\+00A0\)/],
    ['handoffs', '-task.md', /it starts with "-"/],
    ['handoffs', `${'a'.repeat(65)}.md`, /65 characters long, more than 64/],
    ['handoffs', 'a$b.md', /it contains "\$"/],
    ['nodes', `${'n'.repeat(41)}.md`, /not a valid node name: it is 41 characters long, more than 40/],
    ['nodes', 'os:linux.md', /not a valid node name: it contains ":"/],
    ['claims', 'a.md', /"a\.md" has no attempt number/, /rename it to claims\/a\.<attempt>\.md/],
    ['claims', 'a..md', /the attempt number is missing/],
    ['claims', 'a.0.md', /attempt 0: attempts start at 1/],
    ['claims', 'a.00.md', /attempt 00: attempts start at 1/],
    ['claims', 'a.01.md', /the attempt "01" has leading zeros/, /rename it to claims\/a\.1\.md/],
    ['claims', 'a.-1.md', /the attempt "-1" is not a whole number ≥ 1/],
    ['claims', 'a.1e3.md', /the attempt "1e3" is not a whole number/],
    ['claims', 'a.99999999999999999999.md', /larger than 999999/],
    ['claims', 'a.1000000.md', /larger than 999999/],
    ['releases', 'a.b.1.md', /not a valid task id: it contains "\."/],
    ['claims', 'A.1.md', /upper-case/, /rename it to claims\/a\.1\.md/],
    ['claims', '.1.md', /it is empty/],
  ])('%s/%s is a problem', (folder, name, reason, fix) => {
    const p = problemOf(classifyEntry(folder, name, '100644'));
    expect(p.path).toBe(`${folder}/${name}`);
    expect(p.field).toBe('');
    expect(p.severity).toBe('error');
    expect(p.reason).toMatch(reason);
    if (fix) expect(p.fix).toMatch(fix);
    expect(p.fix.length).toBeGreaterThan(0);
  });

  it('reports a folder that is not a gitbus folder', () => {
    expect(problemOf(classifyEntry('notes', 'a.md', '100644')).reason).toMatch(/not a gitbus folder/);
  });
});

describe('classifyPath', () => {
  it('ignores paths outside the live folders', () => {
    expect(classifyPath('README.md')).toBeUndefined();
    expect(classifyPath('.gitattributes')).toBeUndefined();
    expect(classifyPath('docs/handoffs/x.md')).toBeUndefined();
    expect(classifyPath('schemas/handoff.schema.json')).toBeUndefined();
  });

  it('reports files in subfolders of a live folder as the subfolder', () => {
    const p = problemOf(classifyPath('handoffs/sub/x.md'));
    expect(p.path).toBe('handoffs/sub');
    expect(p.reason).toMatch(/it is a folder/);
    expect(problemOf(classifyPath('handoffs/../x.md')).path).toBe('handoffs/..');
  });

  it('reports a symlinked gitbus.yaml', () => {
    expect(problemOf(classifyPath('gitbus.yaml', '120000')).reason).toMatch(/symbolic link/);
  });
});

describe('archive paths', () => {
  it.each<[BusPath, string]>([
    [{ kind: 'handoff', id: ID }, `2026-11/${ID}/handoff.md`],
    [{ kind: 'claim', id: ID, attempt: 3 }, `2026-11/${ID}/claim.3.md`],
    [{ kind: 'release', id: ID, attempt: 1 }, `2026-11/${ID}/release.1.md`],
    [{ kind: 'cancel', id: ID }, `2026-11/${ID}/cancel.md`],
    [{ kind: 'response', id: ID }, `2026-11/${ID}/response.md`],
  ])('%j ↔ %s', (p, path) => {
    expect(archivePathFor('2026-11', p)).toBe(path);
    expect(parseArchivePath(path)).toEqual({ month: '2026-11', location: p });
  });

  it('refuses what is not archived and bad months', () => {
    expect(() => archivePathFor('2026-11', { kind: 'node', node: 'a' })).toThrow(/not archived/);
    expect(() => archivePathFor('2026-11', { kind: 'settings' })).toThrow(InvalidIdError);
    expect(() => archivePathFor('2026-13', { kind: 'handoff', id: ID })).toThrow(/not an archive month/);
    expect(() => archivePathFor('../x', { kind: 'handoff', id: ID })).toThrow(InvalidIdError);
    expect(() => archivePathFor('2026-11', { kind: 'handoff', id: '..' })).toThrow(InvalidIdError);
  });

  it.each<[string, RegExp]>([
    [`2026-11/${ID}/notes.md`, /not an archived file name/],
    [`2026-11/${ID}/claim.0.md`, /not an attempt number/],
    [`2026-11/${ID}/claim.01.md`, /not an attempt number/],
    [`2026-11/${ID}/claim.md`, /not an archived file name/],
    [`2026-11/Bad/handoff.md`, /not a valid task id: it has upper-case letters/],
    [`2026-1/${ID}/handoff.md`, /not an archive month/],
    [`2026-11/${ID}/x/handoff.md`, /not an archive path/],
    ['handoff.md', /not an archive path/],
  ])('%s is a problem', (path, reason) => {
    const p = problemOf(parseArchivePath(path));
    expect(p.path).toBe(path);
    expect(p.reason).toMatch(reason);
  });

  it('reports links in the archive', () => {
    expect(problemOf(parseArchivePath(`2026-11/${ID}/handoff.md`, '120000')).reason).toMatch(/symbolic link/);
  });

  it('names the month in UTC', () => {
    expect(archiveMonthOf('2026-11-30T23:30:00-02:00')).toBe('2026-12');
    expect(archiveMonthOf('2026-11-21T04:29:33Z')).toBe('2026-11');
    expect(archiveMonthOf(new Date('2027-01-01T00:00:00Z'))).toBe('2027-01');
    expect(() => archiveMonthOf('soon')).toThrow(InvalidIdError);
  });
});
