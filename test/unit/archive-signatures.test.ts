import { describe, it, expect } from 'vitest';
import { archiveSignaturePathFor } from '../../schemas/archive-layout.js';
import { archiveChanges } from '../../bus/ops/archive.js';
import type { TaskView } from '../../bus/model/task-view.js';
import type { FileRef } from '../../bus/model/types.js';

/** Archiving moves each task file's signature with it (bus/ops/archive.ts archiveChanges, docs/PROTOCOL.md §7). */

const ID = '20261121-042933-k3f9qx';
const ref = (path: string, oid: string): FileRef => ({ path, oid });
const view = {
  id: ID,
  files: {
    id: ID,
    handoff: ref(`handoffs/${ID}.md`, 'h'.repeat(40)),
    claims: new Map([[1, ref(`claims/${ID}.1.md`, 'c'.repeat(40))]]),
    releases: new Map<number, FileRef>(),
    response: ref(`responses/${ID}.md`, 'r'.repeat(40)),
  },
} as unknown as TaskView;

describe('archiving signatures', () => {
  it('puts an archived file\'s signature at signatures/ and its archive path, as main mirrors main', () => {
    expect(archiveSignaturePathFor('2026-11', { kind: 'handoff', id: ID })).toBe(`signatures/2026-11/${ID}/handoff.md.sig`);
    expect(archiveSignaturePathFor('2026-11', { kind: 'claim', id: ID, attempt: 2 })).toBe(`signatures/2026-11/${ID}/claim.2.md.sig`);
    expect(() => archiveSignaturePathFor('2026-11', { kind: 'node', node: 'w' })).toThrow(/not archived/);
  });

  it('moves the sidecar of each file that has one, and removes from main each file and sidecar as it was read', () => {
    const sidecars = new Map([
      [`handoffs/${ID}.md`, ref(`signatures/handoffs/${ID}.md.sig`, 's'.repeat(40))],
      [`responses/${ID}.md`, ref(`signatures/responses/${ID}.md.sig`, 't'.repeat(40))],
      ['handoffs/other.md', ref('signatures/handoffs/other.md.sig', 'u'.repeat(40))],
    ]);
    const { add, remove } = archiveChanges(view, '2026-11', sidecars);
    expect(add).toEqual([
      { path: `2026-11/${ID}/handoff.md`, content: { oid: 'h'.repeat(40) } },
      { path: `signatures/2026-11/${ID}/handoff.md.sig`, content: { oid: 's'.repeat(40) } },
      { path: `2026-11/${ID}/claim.1.md`, content: { oid: 'c'.repeat(40) } },
      { path: `2026-11/${ID}/response.md`, content: { oid: 'r'.repeat(40) } },
      { path: `signatures/2026-11/${ID}/response.md.sig`, content: { oid: 't'.repeat(40) } },
    ]);
    expect(remove.map((r) => r.path)).toEqual([`handoffs/${ID}.md`, `signatures/handoffs/${ID}.md.sig`, `claims/${ID}.1.md`, `responses/${ID}.md`, `signatures/responses/${ID}.md.sig`]);
    expect(remove[1]?.oid).toBe('s'.repeat(40));
    // Without sidecars, only the task's files move.
    expect(archiveChanges(view, '2026-11').add.map((a) => a.path)).toEqual([`2026-11/${ID}/handoff.md`, `2026-11/${ID}/claim.1.md`, `2026-11/${ID}/response.md`]);
  });
});
