import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The machine's minute, as the throughput rows feel it: microseconds of wall time to write a small file and rename
 * it into a fan-out folder, as a watcher writes every object of every push (bus/git/loose-object.ts). On the bench's
 * machine this moved sixfold within a minute with nothing else running (54 to 331 µs, the kernel's part 46 to 313),
 * which is what moves the no-op rows (docs/PERFORMANCE.md "Claims that ride every round, session 66"): a row
 * printed with the figure before and after it says which minute it fell in. Removes what it wrote.
 */
export function fileWriteMicros(files = 1000): number {
  const dir = mkdtempSync(join(tmpdir(), 'gitbus-bench-probe-'));
  try {
    for (let i = 0; i < 16; i++) mkdirSync(join(dir, i.toString(16)));
    const body = 'x'.repeat(200);
    const t = performance.now();
    for (let i = 0; i < files; i++) {
      const folder = join(dir, (i % 16).toString(16));
      const temp = join(folder, `tmp_${i}`);
      writeFileSync(temp, body, { mode: 0o444 });
      renameSync(temp, join(folder, `obj_${i}`));
    }
    return ((performance.now() - t) * 1000) / files;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
