import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitbus, gitCli } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

/**
 * What `status` lists: a person gets the first 50 tasks of each state in queue order and a count of the rest; a
 * script (--json) gets every task. Status summarizes only what it prints (bus/ops/query.ts StatusOptions).
 */
describe('status listing', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  const PENDING = 53;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    home = bus.home('alpha');
    const work = join(bus.dir, 'work');
    gitCli(['clone', '-q', bus.remote, work]);
    mkdirSync(join(work, 'handoffs'), { recursive: true });
    // Priorities and creation times that put them in a known queue order: t-52 first, t-00 last.
    for (let i = 0; i < PENDING; i++) {
      const id = `t-${String(i).padStart(2, '0')}`;
      writeFileSync(join(work, 'handoffs', `${id}.md`), `---\ntitle: task ${i}\npriority: ${i}\ncreated: 2026-11-01T00:00:00Z\nlabels: [x]\n---\n## Task\n\n${id}\n`);
    }
    writeFileSync(join(work, 'handoffs', 'later.md'), '---\ntitle: later\nschedule: "0 3 * * *"\ncommand: make\n---\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'many pending'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
  });
  afterAll(async () => bus.cleanup());

  it('lists the first 50 of a state in queue order and counts the rest; --json lists them all', async () => {
    const text = await gitbus(['status'], { home });
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    const from = lines.indexOf('pending:');
    expect(from).toBeGreaterThan(0);
    const listed = lines.slice(from + 1).filter((l) => /\bt-\d\d\b/.test(l));
    expect(listed).toHaveLength(50);
    // Highest priority first: t-52 down to t-03; t-02, t-01 and t-00 are the three counted.
    expect(listed[0]).toContain('t-52');
    expect(listed[49]).toContain('t-03');
    expect(text.stdout).toContain(`tasks: ${PENDING} pending, 1 scheduled`);
    expect(text.stdout).toContain('  ... and 3 more (gitbus status --json lists all)');
    expect(text.stdout).toMatch(/scheduled:\n.*later/);

    const json = await gitbus(['status', '--json'], { home });
    expect(json.code, json.stderr).toBe(0);
    const s = JSON.parse(json.stdout) as { tasks: { id: string; state: string }[]; counts: Record<string, number>; perState?: number };
    expect(s.tasks.filter((t) => t.state === 'pending')).toHaveLength(PENDING);
    expect(s.counts).toMatchObject({ pending: PENDING, scheduled: 1 });
    expect(s.perState).toBeUndefined();
  });
});
