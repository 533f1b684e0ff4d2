import { describe, expect, it } from 'vitest';
import { noOpCeiling, type OneWatcher } from '../../bench/ceiling.js';

const one: OneWatcher = { perSecond: 44.4, cpuMsPerTask: 25 };

describe("the throughput bench's ceiling for no-op tasks", () => {
  it('is the cores divided by one watcher\'s CPU a task, and says the 2x target cannot be met below it', () => {
    // Session 8's quiet run: one watcher 44.4 tasks/s at 25 ms of CPU a task, on two cores.
    const line = noOpCeiling(one, 2);
    expect(line).toContain('2 cores / 25 ms of CPU a task');
    expect(line).toContain('= 80.0 tasks/s, 1.80x one watcher');
    expect(line).toContain('cannot be met on this machine');
  });

  it('leaves room for the target where the cores allow it', () => {
    expect(noOpCeiling(one, 8)).toContain('= 320.0 tasks/s, 7.21x one watcher: leaves room for the target of 2x');
  });
});
