import { describe, expect, it } from 'vitest';
import { addedWatcherCost, noOpCeiling, type OneWatcher } from '../../bench/ceiling.js';

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

  it('says what each watcher added costs a task, and that busy cores leave 8 watchers below 4', () => {
    // Session 44: 4 watchers 11.9 tasks/s at 149 ms a task, 8 watchers 6.2 at 289 ms, on two cores.
    const line = addedWatcherCost({ perSecond: 11.9, cpuMsPerTask: 149 }, { perSecond: 6.2, cpuMsPerTask: 289 }, 2);
    expect(line).toContain('each watcher added: 35 ms of CPU a task');
    expect(line).toContain('4 watchers 1.77, 8 watchers 1.79 of 2');
    expect(line).toContain('8 watchers cannot match 4 here');
    // Eight cores: the same rows use a quarter of them.
    expect(addedWatcherCost({ perSecond: 11.9, cpuMsPerTask: 149 }, { perSecond: 6.2, cpuMsPerTask: 289 }, 8)).toContain('the rows measure the coordination');
  });
});
