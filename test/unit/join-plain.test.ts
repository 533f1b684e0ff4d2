import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { joinPlain } from '../../bus/join-plain.js';

describe('joinPlain (bus/join-plain.ts)', () => {
  it('is join(dir, name) for folders and names of every shape, asked once or again (a folder is judged once)', () => {
    const dirs = ['/a/b', '/a/b/', '/', 'a/b', './a', 'a/../b', '/a//b', '', '.', '..', '../x', '/a/./b', '/a/b c', '~/x', '/a/b/..', 'C:\\x', '/é/日本'];
    const names = ['x', 'x.y', '.x', '..', '.', '', 'x/y', '/x', 'a b', 'x\\y', '..x', 'x..', '-', 'refs/heads/main', '../up', 'x/', '日本', 'a/./b', 'a/../b', 'a//b', 'x/.', 'x/..', '.x/y', 'a/.b', 'a/b..', '..a/b'];
    for (let round = 0; round < 2; round++) {
      for (const dir of dirs) for (const name of names) expect(joinPlain(dir, name), JSON.stringify([dir, name])).toBe(join(dir, name));
    }
  });
});
