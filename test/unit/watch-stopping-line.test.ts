import { describe, expect, it } from 'vitest';
import { eventLine } from '../../cli/commands/watch.js';

/** What a person at the terminal reads the moment a watcher begins to stop with runs going (watcher/shutdown.ts). */
describe('the watcher\'s stopping line', () => {
  it('names the runs it waits for and how long, and how to stop them now; cut short, that they are stopped', () => {
    expect(eventLine({ type: 'stopping', runs: ['t1', 't2'], graceMs: 30_000 })).toBe('stopping: waiting up to 30s for 2 running tasks (t1, t2) to end; then they are stopped and go back to the bus (a second Ctrl-C or SIGTERM stops them now)');
    expect(eventLine({ type: 'stopping', runs: ['t1'], graceMs: 0 })).toBe('stopping now: 1 running task (t1) stopped; it goes back to the bus');
  });
});
