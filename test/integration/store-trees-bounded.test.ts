import { execFileSync } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, STORE_TREES } from '../../bus/store/objects.js';
import { tempDir } from '../helpers/cli.js';

/**
 * The object store keeps the trees it decoded, but not all of them for ever: a watcher holds one store for its
 * life and reads a new `handoffs/` tree at every push (2,000 entries each on a bus of 2,000 live tasks).
 */
describe('the trees an object store keeps', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('keeps the newest trees it read, and reads an older one from the clone again', async () => {
    const dir = await tempDir('gitbus-store-trees-');
    cleanups.push(dir.cleanup);
    const gitdir = join(dir.path, 'clone.git');
    execFileSync('git', ['init', '-q', '--bare', gitdir]);
    const git = (args: string[], input?: string) => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) }).trim();
    const trees = Array.from({ length: STORE_TREES + 6 }, (_, i) => git(['mktree'], `100644 blob ${git(['hash-object', '-w', '--stdin'], `${i}\n`)}\tt-${i}.md\n`));
    const store = openStore(gitdir);
    for (const t of trees) expect(await store.readTree(t)).toHaveLength(1);
    // Both files gone from the clone: the newest tree still comes from memory, the oldest is read again, and is not there.
    const loose = (oid: string) => join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
    const [oldest, newest] = [trees[0] as string, trees[trees.length - 1] as string];
    unlinkSync(loose(oldest));
    unlinkSync(loose(newest));
    expect((await store.readTreeHere?.(newest))?.[0]?.path).toBe(`t-${trees.length - 1}.md`);
    expect(await store.readTreeHere?.(oldest)).toBeNull();
  });

  it("decodes the bytes readTreeBytes read, without reading the tree's file again (a dispatch looks a folder up, then writes it)", async () => {
    const dir = await tempDir('gitbus-store-bytes-');
    cleanups.push(dir.cleanup);
    const gitdir = join(dir.path, 'clone.git');
    execFileSync('git', ['init', '-q', '--bare', gitdir]);
    const git = (args: string[], input?: string) => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) }).trim();
    const blob = git(['hash-object', '-w', '--stdin'], 'x\n');
    const tree = git(['mktree'], ['a', 'b', 'c'].map((n) => `100644 blob ${blob}\t${n}.md\n`).join(''));
    const store = openStore(gitdir);
    const bytes = await store.readTreeBytes?.(tree);
    expect(bytes?.length).toBe(3 * (6 + 1 + 4 + 1 + 20));
    // The file gone: the entries come from the bytes read, and they are the tree's.
    unlinkSync(join(gitdir, 'objects', tree.slice(0, 2), tree.slice(2)));
    expect((await store.readTree(tree)).map((e) => [e.path, e.oid])).toEqual(['a', 'b', 'c'].map((n) => [`${n}.md`, blob]));
  });
});
