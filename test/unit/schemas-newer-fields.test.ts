import { describe, expect, it } from 'vitest';
import { parseBusFile, parseSettingsFile, renderBusFile, renderSettings } from '../../schemas/bus-file.js';
import { expectProblem, fm, parseHandoff, HPATH } from './schemas-bus-file-helpers.js';

// Settings and node cards grow with new gitbus versions; an older node must go on reading them (PROTOCOL.md §1).
describe('fields of a newer gitbus in gitbus.yaml and node cards', () => {
  it('gitbus.yaml with an unknown field is used, the field ignored with a warning that names it and the fix', () => {
    const r = parseSettingsFile('protocol: 1\nlease: 9m\nshardBy: group\n');
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.settings.leaseMs).toBe(9 * 60_000);
    expect(r.warnings).toEqual([
      expect.objectContaining({ path: 'gitbus.yaml', field: 'shardBy', severity: 'warning', reason: 'unknown field "shardBy", ignored: a field of a newer gitbus, or a typo', fix: expect.stringMatching(/^if a newer gitbus wrote it, upgrade this node to act on it; if it is a typo, remove it/) }),
    ]);
  });

  it('a typo of a known setting is a warning that suggests the known name', () => {
    const r = parseBusFile('gitbus.yaml', 'protocol: 1\nleas: 5m\n');
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.warnings[0]).toMatchObject({ field: 'leas', severity: 'warning', fix: expect.stringMatching(/rename it to "lease"/) });
  });

  it('rewriting gitbus.yaml gives the newer field back unchanged', () => {
    const r = parseSettingsFile('protocol: 1\nlease: 9m\nshardBy: {groups: [a, b]}\n');
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const again = parseSettingsFile(renderSettings({ ...r.file.data, maxAttempts: 4 }, r.file.extras));
    if (!again.ok) throw new Error(JSON.stringify(again.problems));
    expect(again.file.extras).toEqual({ shardBy: { groups: ['a', 'b'] } });
    expect(again.settings.maxAttempts).toBe(4);
  });

  it('a node card with an unknown field is used and written back with it', () => {
    const r = parseBusFile('nodes/gpu-box.md', fm('node: gpu-box\nrunners: [shell]\ngpus: 2\n'));
    if (!r.ok || r.kind !== 'node') throw new Error(JSON.stringify(r));
    expect(r.file.data.runners).toEqual(['shell']);
    expect(r.warnings.map((w) => [w.field, w.severity])).toEqual([['gpus', 'warning']]);
    expect(renderBusFile('node', r.file.data, '', r.file.extras)).toContain('gpus: 2');
  });

  it('a key that names a prototype is no newer field: refused as unknown, never kept as an extra', () => {
    const card = parseBusFile('nodes/gpu-box.md', fm('node: gpu-box\nrunners: [shell]\n__proto__: {x-owner: mallory}\nconstructor: 1\nprototype: 2\n'));
    if (card.ok) throw new Error('expected problems');
    for (const key of ['__proto__', 'constructor', 'prototype']) expect(card.problems).toEqual(expect.arrayContaining([expect.objectContaining({ field: key, reason: `unknown field "${key}"`, severity: 'error' })]));
    const settings = parseBusFile('gitbus.yaml', 'protocol: 1\n__proto__: {lease: 1m}\n');
    if (settings.ok) throw new Error('expected problems');
    expect(settings.problems[0]).toMatchObject({ field: '__proto__', reason: 'unknown field "__proto__"', severity: 'error' });
  });

  it('a handoff stays strict: a task never runs with a field ignored', () => {
    expectProblem(parseHandoff('sandbox: strict'), HPATH, 'sandbox', /^unknown field "sandbox"$/);
  });

  it('a writer still refuses an extra that is a known field of the kind, or a non-x- key on a strict kind', () => {
    expect(() => renderSettings({ protocol: 1 }, { lease: '5m' })).toThrow(/"lease" is not an extra field/);
    expect(() => renderBusFile('handoff', { title: 't', command: 'true' }, '', { sandbox: 1 })).toThrow(/"sandbox" is not an extra field/);
  });
});
