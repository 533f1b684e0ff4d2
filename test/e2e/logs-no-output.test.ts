import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitbus } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { cancelInProcess } from '../helpers/in-process.js';

describe('logs of a task with no output', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
  });
  afterAll(async () => {
    await bus?.cleanup();
  });

  it("prints nothing on stdout (the output is the task's) and says why on stderr: nobody ran it, or it ended with none", async () => {
    const home = bus.home('alpha');
    const id = await bus.dispatch('alpha', ['nobody ran it', '--runner', 'manual', '--to', 'alpha']);
    const r = await gitbus(['logs', id], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('');
    expect(r.stderr).toContain(`${id} has no output yet: it is pending, and no node has run it`);
    await cancelInProcess(home, id);
    const ended = await gitbus(['logs', id], { home });
    expect(ended.stdout.trim()).toBe('');
    expect(ended.stderr).toContain(`${id} has no output: it ended cancelled with none`);
  });
});
