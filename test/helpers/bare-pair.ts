import { join } from 'node:path';
import { afterEach } from 'vitest';
import { openStore } from '../../bus/store/objects.js';
import { gitCli, tempDir } from './cli.js';

/**
 * Two empty bare repositories in a temp folder: `remote`, as a local bus's remote, and `local`, as a node's clone
 * (with its object store), for the direct path's tests (bus/transport/local-direct.ts).
 */
export async function barePair() {
  const dir = await tempDir();
  const remote = join(dir.path, 'remote.git');
  const local = join(dir.path, 'local.git');
  gitCli(['init', '-q', '--bare', '-b', 'main', remote]);
  gitCli(['init', '-q', '--bare', '-b', 'main', local]);
  return { dir: dir.path, remote, local, store: openStore(local), cleanup: dir.cleanup };
}

/** barePair for the tests of a describe block: a new pair per call, removed after the test that made it. */
export function barePairPerTest(): () => ReturnType<typeof barePair> {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });
  return async () => {
    const pair = await barePair();
    cleanup = pair.cleanup;
    return pair;
  };
}
