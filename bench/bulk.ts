import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { initBus } from '../bus/ops/init.js';
import { MAX_BATCH_TASKS } from '../schemas/batch.js';
import { git, tmp } from './fixtures.js';
import { fmt, summarize, time, type Sample } from './stats.js';

const CLI = fileURLToPath(new URL('../cli/gitbus.mjs', import.meta.url));
const run = promisify(execFile);

/**
 * Issue 14, batching: N tasks put on the bus by N `gitbus dispatch` processes (a script's loop, and the same loop
 * 8 at a time) against ONE `gitbus dispatch --from FILE`, as a person or script runs them: process start-up
 * included, on a local bare remote. Pushes are the commits that reached main (each is one compare-and-swap push;
 * a lost race costs a push that is not counted here).
 */
export async function bulkBench(lines: string[], n: number, reps: number): Promise<void> {
  const dir = tmp('gitbus-bench-bulk-');
  const home = join(dir, 'home');
  const remote = join(dir, 'remote.git');
  await initBus(home, { remote, node: 'bench' });
  const env = { ...process.env, GITBUS_HOME: home };
  const commits = () => Number(git(['--git-dir', remote, 'rev-list', '--count', 'main']).trim());
  const dispatchOne = (i: number, tag: string) => run(process.execPath, [CLI, 'dispatch', `${tag} ${i}`, '--command', 'true', '--no-git'], { env });
  const file = join(dir, 'tasks.jsonl');

  const sides = {
    loop: { ms: [] as number[], pushes: [] as number[] },
    parallel: { ms: [] as number[], pushes: [] as number[] },
    batch: { ms: [] as number[], pushes: [] as number[] },
  };
  const measure = async (side: keyof typeof sides, fn: () => Promise<unknown>) => {
    const before = commits();
    sides[side].ms.push(await time(fn));
    sides[side].pushes.push(commits() - before);
  };
  // One warm-up of each (page cache, the bundle compiled once).
  await dispatchOne(0, 'warm-up');
  writeFileSync(file, `${JSON.stringify({ title: 'warm-up', command: 'true' })}\n`);
  await run(process.execPath, [CLI, 'dispatch', '--from', file, '--no-git'], { env });

  for (let r = 0; r < reps; r++) {
    writeFileSync(file, Array.from({ length: n }, (_, i) => `${JSON.stringify({ title: `batch ${r}-${i}`, command: 'true' })}\n`).join(''));
    // Alternate which side goes first, so that neither always meets the other's leftovers.
    const order: (keyof typeof sides)[] = r % 2 === 0 ? ['loop', 'parallel', 'batch'] : ['batch', 'parallel', 'loop'];
    for (const side of order) {
      if (side === 'loop') {
        await measure('loop', async () => {
          for (let i = 0; i < n; i++) await dispatchOne(i, `loop ${r}`);
        });
      } else if (side === 'parallel') {
        await measure('parallel', async () => {
          let next = 0;
          const worker = async () => {
            while (next < n) await dispatchOne(next++, `parallel ${r}`);
          };
          await Promise.all(Array.from({ length: 8 }, worker));
        });
      } else {
        await measure('batch', () => run(process.execPath, [CLI, 'dispatch', '--from', file, '--no-git'], { env }));
      }
    }
  }

  const med = (xs: number[]) => summarize(xs).median;
  const batch: Sample = summarize(sides.batch.ms);
  const rowOf = (name: string, s: { ms: number[]; pushes: number[] }) => {
    const sample = summarize(s.ms);
    return `${name.padEnd(44)} wall median ${fmt(sample.median).padStart(8)} ms  pushes ${String(med(s.pushes)).padStart(4)}  | ratio to one --from: wall ${(sample.median / batch.median).toFixed(1)}x, pushes ${(med(s.pushes) / med(sides.batch.pushes)).toFixed(0)}x`;
  };
  // The cap: a batch of the most tasks one commit takes, once.
  writeFileSync(file, Array.from({ length: MAX_BATCH_TASKS }, (_, i) => `${JSON.stringify({ title: `cap ${i}`, command: 'true' })}\n`).join(''));
  const capBefore = commits();
  const capMs = await time(() => run(process.execPath, [CLI, 'dispatch', '--from', file, '--no-git'], { env, maxBuffer: 1 << 24 }));
  const capPushes = commits() - capBefore;

  const path = process.env['GITBUS_DIRECT'] === '0' ? 'git receive-pack/upload-pack (GITBUS_DIRECT=0)' : 'direct file access';
  lines.push(`## Bulk dispatch: ${n} tasks, ${reps} runs a side (process start-up included, local bare remote, ${path})`, '');
  lines.push(rowOf(`${n} x gitbus dispatch, one after another`, sides.loop));
  lines.push(rowOf(`${n} x gitbus dispatch, 8 at a time`, sides.parallel));
  lines.push(rowOf(`1 x gitbus dispatch --from (${n} lines)`, sides.batch));
  lines.push(`1 x gitbus dispatch --from (${MAX_BATCH_TASKS} lines, the cap), once  wall ${fmt(capMs)} ms  pushes ${capPushes}`);
  lines.push('', `per task: loop ${fmt(med(sides.loop.ms) / n)} ms, 8 at a time ${fmt(med(sides.parallel.ms) / n)} ms, --from ${fmt(batch.median / n)} ms`, '');
}
