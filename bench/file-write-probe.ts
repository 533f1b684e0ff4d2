import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeObjectFile } from '../bus/git/loose-object.js';
import { fs } from '../bus/node-fs.js';

/**
 * The machine's minute, as the throughput rows feel it: microseconds of wall time to write one small loose object
 * the way a watcher writes every object of every push (writeObjectFile: a temp file renamed into its fan-out
 * folder). On the bench's machine this moved sixfold within a minute with nothing else running (54 to 331 µs, the
 * kernel's part 46 to 313), which is what moves the no-op rows (docs/PERFORMANCE.md "Claims that ride every round,
 * session 66"): a row printed with the figure before and after it says which minute it fell in. Removes what it
 * wrote.
 */
export function fileWriteMicros(files = 1000): number {
  const dir = mkdtempSync(join(tmpdir(), 'gitbus-bench-probe-'));
  try {
    // Names spread over the fan-out folders as object ids are; what the files hold is never read.
    const oids = Array.from({ length: files }, (_, i) => createHash('sha1').update(String(i)).digest('hex'));
    // The fan-out folders made first, as a clone in use has them: the loop times the files alone.
    for (let i = 0; i < 256; i++) mkdirSync(join(dir, 'objects', i.toString(16).padStart(2, '0')), { recursive: true });
    const body = Buffer.alloc(200, 120);
    const t = performance.now();
    for (const oid of oids) writeObjectFile(fs, dir, oid, body);
    return ((performance.now() - t) * 1000) / files;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
