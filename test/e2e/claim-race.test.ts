import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { BIN, gitCli, spawnBounded } from '../helpers/cli.js';
import { makeBus, seedPool } from '../helpers/bus.js';

/**
 * Exactly-once claims: several OS processes, each a node with its own home and clone, run `gitbus claim --next`
 * in a loop against one local bare remote until nothing is left. Every task must be claimed by exactly one.
 * Run twice: through the direct path (no git process) and through git's receive-pack/upload-pack.
 */
async function race(nodes: number, tasks: number, env: NodeJS.ProcessEnv) {
  const bus = await makeBus({ node: 'dispatcher' });
  cleanups.push(bus.cleanup);
  const ids = await seedPool(bus.remote, join(bus.dir, 'work'), tasks);
  for (let n = 0; n < nodes; n++) await bus.addNode(`racer${n}`);

  // One JSON document per line per claim; the loop ends when claim --next exits non-zero.
  const loop = `while :; do out=$("${process.execPath}" "${BIN}" claim --next --json); rc=$?; [ $rc -ne 0 ] && break; printf '%s\\n' "$out" | tr -d '\\n'; echo; done; echo "EXIT $rc"`;
  const runs = await Promise.all(
    Array.from({ length: nodes }, (_, n) => spawnBounded('bash', ['-c', loop], { env: { ...process.env, ...env, GITBUS_HOME: bus.home(`racer${n}`) }, timeoutMs: 240_000 })),
  );
  const claimedBy = new Map<string, string[]>();
  let retries = 0;
  runs.forEach((r, n) => {
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1), r.stderr).toBe('EXIT 3');
    for (const line of lines.slice(0, -1)) {
      const c = JSON.parse(line) as { id: string; attempt: number; node: string; attempts: number };
      expect(c.node).toBe(`racer${n}`);
      expect(c.attempt).toBe(1);
      retries += c.attempts - 1;
      claimedBy.set(c.id, [...(claimedBy.get(c.id) ?? []), c.node]);
    }
  });
  const doubles = [...claimedBy].filter(([, owners]) => owners.length > 1);
  expect(doubles).toEqual([]);
  expect([...claimedBy.keys()].sort()).toEqual([...ids].sort());
  // Work was shared: no process took everything.
  for (const r of runs) expect(r.stdout.trim().split('\n').length - 1).toBeLessThan(tasks);

  // The remote agrees: one claim file per task, attempt 1, naming the node that reported it.
  const files = gitCli(['--git-dir', bus.remote, 'ls-tree', '--name-only', 'main', 'claims/']).trim().split('\n');
  expect(files.length).toBe(tasks);
  expect(new Set(files)).toEqual(new Set(ids.map((id) => `claims/${id}.1.md`)));
  for (const id of ids.slice(0, 40)) {
    expect(gitCli(['--git-dir', bus.remote, 'show', `main:claims/${id}.1.md`])).toContain(`node: ${claimedBy.get(id)?.[0]}`);
  }
  expect(() => gitCli(['--git-dir', bus.remote, 'fsck', '--no-progress'])).not.toThrow();
  return { retries };
}

const cleanups: (() => Promise<void>)[] = [];

describe('claim race', () => {
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  // The task counts set the run time: every claim is a CLI process (~0.5 s of CPU on a loaded machine), and what
  // the race needs is racers claiming at once, not many tasks. `claim --next` takes the head of the queue, so every
  // round of concurrent claims has one winner, and the others' pushes are refused and they decide again from the new
  // state: 60 and 40 tasks gave 61 and 77 lost races retried (2026-12-01, load ~18), about one per claim. With 18
  // and 12, every racer still makes about three claims, most of them after a lost race, and ends on the empty queue
  // (exit 3): 40 claim processes instead of 110 (the suite's CPU budget, docs/PERFORMANCE.md "The test suite"). A
  // race nobody lost would show nothing, hence the last expectation.
  it('six processes claim 18 tasks, each exactly once (direct file access to the remote)', async () => {
    const { retries } = await race(6, 18, {});
    console.log(`direct: ${retries} lost races retried`);
    expect(retries, 'the racers never collided').toBeGreaterThan(0);
  }, 300_000);

  it('four processes claim 12 tasks, each exactly once (through git receive-pack and upload-pack)', async () => {
    const { retries } = await race(4, 12, { GITBUS_DIRECT: '0' });
    console.log(`git services: ${retries} lost races retried`);
    expect(retries, 'the racers never collided').toBeGreaterThan(0);
  }, 300_000);
});
