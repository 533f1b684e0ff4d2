import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { joinOnce } from '../../bus/join-once.js';

describe('joinOnce (bus/join-once.ts)', () => {
  it('is join(dir, name) for folders and names of every shape, asked once or again', () => {
    const dirs = ['/a/b', '/a/b/', '/', 'a/b', './a', 'a/../b', '/a//b', '', '.', '..', '../x', '/a/./b', '/a/b c', '~/x', '/a/b/..', 'C:\\x', '/é/日本'];
    const names = ['x', 'x.y', '.x', '..', '.', '', 'x/y', '/x', 'a b', 'x\\y', '..x', 'x..', '-', 'refs/heads/main', '../up', 'x/', '日本'];
    for (let round = 0; round < 2; round++) {
      for (const dir of dirs) for (const name of names) expect(joinOnce(dir, name), JSON.stringify([dir, name])).toBe(join(dir, name));
    }
  });
});
