import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LEFTOVER_AGE_MS, sweepLeftovers } from '../../bus/leftovers.js';
import { tempDir } from '../helpers/cli.js';

describe('leftovers of killed processes', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  it('temp objects of dead processes go with the object sweep only, once older than a minute', async () => {
    const dir = await tempDir();
    cleanup = dir.cleanup;
    const clone = join(dir.path, 'clone.git');
    mkdirSync(join(clone, 'objects', 'ab'), { recursive: true });
    const dead = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const old = new Date(Date.now() - 2 * LEFTOVER_AGE_MS);
    const file = (name: string, age: Date | null) => {
      const p = join(clone, 'objects', 'ab', name);
      writeFileSync(p, 'x');
      if (age) utimesSync(p, age, age);
      return p;
    };
    const stale = file(`tmp_obj_gitbus_${dead}_q1w2e3`, old);
    const fresh = file(`tmp_obj_gitbus_${dead}_r4t5y6`, null);
    const live = file(`tmp_obj_gitbus_${process.pid}_u7i8o9`, old);
    const object = file('cdef0123456789abcdef0123456789abcdef01', old);
    expect(sweepLeftovers({ home: dir.path, clone })).toEqual([]);
    expect(existsSync(stale)).toBe(true);
    expect(sweepLeftovers({ home: dir.path, clone }, { objects: true })).toEqual([stale]);
    for (const p of [fresh, live, object]) expect(existsSync(p)).toBe(true);
  });
});
