import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that wait longest on purpose (leases, delayed SSH commands, races of several processes) start first,
 * so that they run beside the many short files rather than after them: on a fresh CI machine vitest has no timings
 * to order by, and one of them starting last makes the whole run wait for it. Longest first (docs/PERFORMANCE.md).
 */
// Only those that wait (leases, delayed SSH starts): the ones that keep the cores busy (the claim race) would
// crowd each other out if they all started together.
// (The SSH files now wait far less: the test sshd skips the host's ~/.bashrc, test/helpers/sshd.ts.)
const SLOW_FIRST = ['concurrent-node', 'outage-probe', 'clock-skew', 'watch-polite'];

function rank(file: TestSpecification): number {
  const i = SLOW_FIRST.findIndex((name) => file.moduleId.endsWith(`/${name}.test.ts`));
  return i < 0 ? SLOW_FIRST.length : i;
}

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // Array.prototype.sort is stable: the rest keep vitest's own order.
    return [...(await super.sort(files))].sort((a, b) => rank(a) - rank(b));
  }
}
