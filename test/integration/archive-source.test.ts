import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitCli, tempDir } from '../helpers/cli.js';
import { CatFileSource } from '../../bus/archive/cat-file.js';
import { ensureFolders } from '../../bus/archive/folders.js';
import { openStore } from '../../bus/store/objects.js';

/**
 * What each level of a path read brings (bus/archive/cat-file.ts, the same contract as upload-pack with filters in
 * path-read.ts): `tree:1` a commit and its root tree, `tree:0` a tree alone, no filter a tree and all below it; and
 * ensureFolders only the folders on the way to some files.
 */
let dir: { path: string; cleanup: () => Promise<void> };
let source: string;
const rev = (r: string) => gitCli(['--git-dir', source, 'rev-parse', r]).trim();
const has = (gitdir: string) => async (oid: string) => existsSync(join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2)));
const objects = (gitdir: string) => new Set(gitCli(['--git-dir', gitdir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname)']).split('\n').filter(Boolean));

async function freshClone(name: string): Promise<string> {
  const clone = join(dir.path, name);
  gitCli(['init', '-q', '--bare', clone]);
  return clone;
}

beforeAll(async () => {
  dir = await tempDir('gitbus-archive-source-');
  const work = join(dir.path, 'work');
  mkdirSync(join(work, '2026-11', 'task-a'), { recursive: true });
  mkdirSync(join(work, '2026-11', 'task-b'), { recursive: true });
  mkdirSync(join(work, 'ids', 'ab'), { recursive: true });
  writeFileSync(join(work, '2026-11', 'task-a', 'response.md'), 'a\n');
  writeFileSync(join(work, '2026-11', 'task-b', 'response.md'), 'b\n');
  writeFileSync(join(work, 'ids', 'ab', 'x'), 'x\n');
  gitCli(['init', '-q', work]);
  gitCli(['add', '-A'], work);
  gitCli(['-c', 'user.name=t', '-c', 'user.email=t@x', 'commit', '-qm', 'one'], work);
  source = join(dir.path, 'source.git');
  gitCli(['clone', '-q', '--bare', work, source]);
  gitCli(['--git-dir', source, 'repack', '-adq']); // packed, as a real remote is
});

afterAll(async () => {
  await dir.cleanup();
});

describe('archive object sources', () => {
  it('brings a commit with its root tree, a tree alone, or a tree with everything below it', async () => {
    const clone = await freshClone('c1');
    const s = new CatFileSource(source, clone, has(clone));
    try {
      await s.ensure([rev('HEAD')], 'tree:1');
      expect(objects(clone)).toEqual(new Set([rev('HEAD'), rev('HEAD^{tree}')]));
      await s.ensure([rev('HEAD:2026-11')], 'tree:0');
      expect(objects(clone).size).toBe(3);
      await s.ensure([rev('HEAD:2026-11/task-a')]);
      expect(objects(clone)).toEqual(new Set([rev('HEAD'), rev('HEAD^{tree}'), rev('HEAD:2026-11'), rev('HEAD:2026-11/task-a'), rev('HEAD:2026-11/task-a/response.md')]));
      const before = s.stats.objects;
      await s.ensure([rev('HEAD:2026-11/task-a')]);
      expect(s.stats.objects).toBe(before);
    } finally {
      s.close();
    }
  });

  it('reads only the folders on the way to the files a commit will change', async () => {
    const clone = await freshClone('c2');
    const s = new CatFileSource(source, clone, has(clone));
    try {
      await s.ensure([rev('HEAD')], 'tree:1');
      await ensureFolders(openStore(clone), s, rev('HEAD^{tree}'), ['2026-11/task-new/response.md', 'ids/ab/task-new.2026-11/response.md']);
      expect(objects(clone)).toEqual(new Set([rev('HEAD'), rev('HEAD^{tree}'), rev('HEAD:2026-11'), rev('HEAD:ids'), rev('HEAD:ids/ab')]));
    } finally {
      s.close();
    }
  });
});
