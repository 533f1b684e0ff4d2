import { describe, expect, it } from 'vitest';
import { byShowOrder, claimsByAttempt, filesInShowOrder } from '../../bus/model/task-file-order.js';
import type { FileRef, TaskFiles } from '../../bus/model/types.js';

const ref = (path: string): FileRef => ({ path, oid: path });

describe('the order a task\'s files are listed in', () => {
  it('takes claims and releases by attempt number, not by name (claim.2 before claim.10), each release after its claim', () => {
    const paths = ['responses/t.md', 'releases/t.10.md', 'claims/t.10.md', 'claims/t.2.md', 'handoffs/t.md', 'cancels/t.md', 'releases/t.2.md', 'claims/t.1.md'];
    expect([...paths].sort(byShowOrder)).toEqual(['handoffs/t.md', 'claims/t.1.md', 'claims/t.2.md', 'releases/t.2.md', 'claims/t.10.md', 'releases/t.10.md', 'cancels/t.md', 'responses/t.md']);
  });

  it('puts a path that is no task file last, by name', () => {
    expect(['notes/b.md', 'responses/t.md', 'claims/nested/x.md', 'handoffs/t.md'].sort(byShowOrder)).toEqual(['handoffs/t.md', 'responses/t.md', 'claims/nested/x.md', 'notes/b.md']);
  });

  it('agrees with the order of a task\'s index entry', () => {
    const files: TaskFiles = {
      id: 't',
      handoff: ref('handoffs/t.md'),
      claims: new Map([[10, ref('claims/t.10.md')], [2, ref('claims/t.2.md')]]),
      releases: new Map([[2, ref('releases/t.2.md')]]),
      response: ref('responses/t.md'),
    };
    expect(claimsByAttempt(files).map(([n]) => n)).toEqual([2, 10]);
    const listed = filesInShowOrder(files).map((r) => r.path);
    expect([...listed].reverse().sort(byShowOrder)).toEqual(listed);
  });
});
