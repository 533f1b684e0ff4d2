import { createRequire, syncBuiltinESMExports } from 'node:module';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GitbusError } from '../../schemas/errors.js';
import { fileWatch, wakeOnChange, type ChangeWatch } from '../../watcher/wake-on-change.js';
import { barePairPerTest } from '../helpers/bare-pair.js';
import { gitCli } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

/** A commit pushed to `remote`'s main, from a work repository of its own each time (the git CLI, as a person pushes). */
let pushes = 0;
function push(dir: string, remote: string): void {
  const work = join(dir, `work-${++pushes}`);
  gitCli(['init', '-q', '-b', 'main', work]);
  writeFileSync(join(work, 'f.md'), String(pushes));
  gitCli(['-C', work, 'add', 'f.md']);
  gitCli(['-C', work, 'commit', '-q', '-m', String(pushes)]);
  gitCli(['-C', work, 'push', '-q', '--force', remote, 'HEAD:main']);
}

/**
 * node:fs's watch refusing `folder` as the kernel does past its limit on watches (ENOSPC) while it is there (away, the
 * real watch's ENOENT), until `restore`; `tries`: how many times it was asked to watch it, what a test waits on.
 */
function refuseWatch(folder: string): { tries: () => number; restore: () => void } {
  const nodeFs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
  const real = nodeFs.watch;
  let tries = 0;
  (nodeFs as { watch: unknown }).watch = (path: string, ...rest: unknown[]) => {
    if (path === folder) tries++;
    if (path === folder && nodeFs.existsSync(path)) throw Object.assign(new Error(`ENOSPC: System limit for number of file watchers reached, watch '${path}'`), { code: 'ENOSPC' });
    return (real as (...args: unknown[]) => unknown)(path, ...rest);
  };
  syncBuiltinESMExports();
  return {
    tries: () => tries,
    restore: () => {
      (nodeFs as { watch: unknown }).watch = real;
      syncBuiltinESMExports();
    },
  };
}

/** `make` run with GITBUS_WATCH_POLL=1 (a network mount without kernel events), the variable as it was after. */
async function polled<T>(make: () => Promise<T>): Promise<T> {
  const was = process.env['GITBUS_WATCH_POLL'];
  process.env['GITBUS_WATCH_POLL'] = '1';
  try {
    return await make();
  } finally {
    if (was === undefined) delete process.env['GITBUS_WATCH_POLL'];
    else process.env['GITBUS_WATCH_POLL'] = was;
  }
}

/**
 * A watcher's file events (watcher/wake-on-change.ts): a push to a local remote, or a commit in the node's clone,
 * wakes it; git's lock files and the remote's other files do not. Kernel events of one process arrive in order, so
 * a file moved in after the one that must not wake is the sentinel: once it has woken the watch, a wake of the first
 * would have come already.
 */
describe('wakeOnChange', () => {
  const pair = barePairPerTest();

  /** A watch on the pair that counts its wakes. */
  async function counted(paths: { clone: string; remote: string | null }): Promise<{ wakes: () => number; watch: ChangeWatch }> {
    let n = 0;
    const watch = await wakeOnChange(paths, () => n++);
    return { wakes: () => n, watch };
  }

  /** A file made elsewhere and moved in: one kernel event (git puts a ref in place the same way). */
  function moveIn(dir: string, folder: string, name: string): void {
    const spare = join(dir, `spare-${name}`);
    writeFileSync(spare, '0000000000000000000000000000000000000000\n');
    renameSync(spare, join(folder, name));
  }

  it('a push to the local remote wakes it, and so does a ref put in place in the clone', async () => {
    const { dir, remote, local } = await pair();
    const { wakes, watch } = await counted({ clone: local, remote });
    try {
      push(dir, remote);
      await until('the push to wake the watch', () => wakes() > 0, 10_000);
      const before = wakes();
      moveIn(dir, join(local, 'refs', 'heads'), 'main');
      await until('the clone ref to wake the watch', () => wakes() > before, 10_000);
    } finally {
      await watch.close();
    }
  });

  it("git's lock file alone does not wake it; the ref renamed into place does, once", async () => {
    const { dir, remote, local } = await pair();
    const { wakes, watch } = await counted({ clone: local, remote });
    try {
      writeFileSync(join(remote, 'refs', 'heads', 'main.lock'), 'half-written\n');
      rmSync(join(remote, 'refs', 'heads', 'main.lock'));
      moveIn(dir, join(remote, 'refs', 'heads'), 'main');
      await until('the ref to wake the watch', () => wakes() > 0, 10_000);
      expect(wakes()).toBe(1);
    } finally {
      await watch.close();
    }
  });

  it("of the remote's own folder only packed-refs wakes it (git pack-refs), not its other files", async () => {
    const { dir, remote, local } = await pair();
    const { wakes, watch } = await counted({ clone: local, remote });
    try {
      writeFileSync(join(remote, 'description'), 'a bus\n');
      moveIn(dir, remote, 'FETCH_HEAD');
      moveIn(dir, remote, 'packed-refs');
      await until('packed-refs to wake the watch', () => wakes() > 0, 10_000);
      expect(wakes()).toBe(1);
    } finally {
      await watch.close();
    }
  });

  it('a closed watch wakes nothing more', async () => {
    const { dir, remote, local } = await pair();
    const closed = await counted({ clone: local, remote });
    const open = await counted({ clone: local, remote });
    try {
      await closed.watch.close();
      push(dir, remote);
      await until('the open watch to wake', () => open.wakes() > 0, 10_000);
      expect(closed.wakes()).toBe(0);
    } finally {
      await open.watch.close();
    }
  });

  it('a remote with no refs folder yet is left out without an error; the clone still wakes it', async () => {
    const { dir, local } = await pair();
    const bare = join(dir, 'not-yet');
    mkdirSync(bare);
    const { wakes, watch } = await counted({ clone: local, remote: bare });
    try {
      moveIn(dir, join(local, 'refs', 'heads'), 'main');
      await until('the clone ref to wake the watch', () => wakes() > 0, 10_000);
    } finally {
      await watch.close();
    }
  });

  it('polled (GITBUS_WATCH_POLL=1, a network mount without kernel events), a push wakes it too', async () => {
    const { dir, remote, local } = await pair();
    const watch = await polled(() => counted({ clone: local, remote }));
    try {
      push(dir, remote);
      await until('the push to wake the polled watch', () => watch.wakes() > 0, 10_000);
    } finally {
      await watch.watch.close();
    }
  });
});

/**
 * FileWatch (the watcher's): watched anew when told (a remote back from an outage) and when a watched folder is
 * replaced under it; a folder that cannot be watched is said, and the others still wake it.
 */
describe('fileWatch', () => {
  const pair = barePairPerTest();

  /** The clone's sentinel: a ref moved into the clone's refs/heads, whose wake comes after every earlier event. */
  async function settled(dir: string, local: string, wakes: () => number): Promise<number> {
    const before = wakes();
    const spare = join(dir, `spare-${pushes}-${before}`);
    writeFileSync(spare, '0000000000000000000000000000000000000000\n');
    renameSync(spare, join(local, 'refs', 'heads', `sentinel-${before}`));
    await until('the sentinel to wake the watch', () => wakes() > before, 10_000);
    return wakes();
  }

  it('again() watches a remote that was deleted and made anew: a push to it wakes the watch', async () => {
    const { dir, remote, local } = await pair();
    let n = 0;
    const errors: unknown[] = [];
    const files = await fileWatch({ clone: local, remote }, () => n++, (e) => errors.push(e));
    try {
      rmSync(remote, { recursive: true, force: true });
      gitCli(['init', '-q', '--bare', '-b', 'main', remote]);
      const before = await settled(dir, local, () => n);
      files.again();
      // Pushed until one wakes it: again() watches anew in the background.
      await until('a push to the new remote to wake the watch', () => {
        push(dir, remote);
        return n > before;
      }, 10_000);
      expect(errors).toEqual([]);
    } finally {
      await files.close();
    }
  });

  it('a remote moved away is watched anew at once (nothing there yet), and its copy moved into its place after the next look (recheck)', async () => {
    const { dir, remote, local } = await pair();
    push(dir, remote);
    let n = 0;
    const files = await fileWatch({ clone: local, remote }, () => n++, () => undefined);
    try {
      gitCli(['clone', '-q', '--bare', remote, `${remote}.new`]);
      renameSync(remote, `${remote}.old`);
      // The move is an event under the folder's own name: watched anew, with nothing at the path, and a wake.
      const moved = await settled(dir, local, () => n);
      renameSync(`${remote}.new`, remote);
      // What a look that reached the remote does (watcher/watch.ts): the folders that were away are watched now.
      await until('a push to the copy to wake the watch', () => {
        files.recheck();
        push(dir, remote);
        return n > moved;
      }, 10_000);
    } finally {
      await files.close();
    }
  });

  it('a remote deleted and made anew at once (ext4 gives it the old inode numbers) is watched anew without being told', async () => {
    const { dir, remote, local } = await pair();
    let n = 0;
    const files = await fileWatch({ clone: local, remote }, () => n++, () => undefined);
    try {
      rmSync(remote, { recursive: true, force: true });
      gitCli(['init', '-q', '--bare', '-b', 'main', remote]);
      const before = await settled(dir, local, () => n);
      await until('a push to the new remote to wake the watch', () => {
        push(dir, remote);
        return n > before;
      }, 10_000);
    } finally {
      await files.close();
    }
  });

  it('polled, again() polls a remote that was not there when the watch began', async () => {
    const { dir, remote, local } = await pair();
    rmSync(remote, { recursive: true, force: true });
    let n = 0;
    let files: Awaited<ReturnType<typeof fileWatch>> | undefined;
    // Polled throughout: a renewal reads the variable too.
    await polled(async () => {
      try {
        files = await fileWatch({ clone: local, remote }, () => n++, () => undefined);
        gitCli(['init', '-q', '--bare', '-b', 'main', remote]);
        files.again();
        await until('a push to the remote made meanwhile to wake the polled watch', () => {
          push(dir, remote);
          return n > 0;
        }, 10_000);
      } finally {
        await files?.close();
      }
    });
  });

  it("a folder the kernel will not watch (ENOSPC, its limit on watches) is reported with the fix, once while it lasts; the remote's still wake it", async () => {
    const { dir, remote, local } = await pair();
    const refused = join(local, 'refs', 'heads');
    const kernel = refuseWatch(refused);
    let n = 0;
    const errors: unknown[] = [];
    let files: Awaited<ReturnType<typeof fileWatch>> | undefined;
    try {
      files = await fileWatch({ clone: local, remote }, () => n++, (e) => errors.push(e));
      // Watched anew twice (a remote back from two outages) with the limit still reached: said once, not each time.
      for (const renewal of [2, 3]) {
        files.again();
        await until(`renewal ${renewal - 1} to try the folder again`, () => kernel.tries() >= renewal, 10_000);
      }
      expect(errors).toHaveLength(1);
      const err = errors[0] as GitbusError;
      expect(err).toBeInstanceOf(GitbusError);
      expect(err.code).toBe('FILE_EVENTS_UNAVAILABLE');
      expect(err.message).toContain(refused);
      expect(err.fix).toContain('fs.inotify.max_user_watches');
      expect(err.fix).toContain('GITBUS_WATCH_POLL=1');
      push(dir, remote);
      await until('the push to wake the watch', () => n > 0, 10_000);
    } finally {
      kernel.restore();
      await files?.close();
    }
  });

  it('a folder the kernel will not watch that goes away and comes back, still unwatchable, is not said again', async () => {
    const { remote, local } = await pair();
    const kernel = refuseWatch(join(remote, 'refs', 'heads'));
    const errors: unknown[] = [];
    let files: Awaited<ReturnType<typeof fileWatch>> | undefined;
    try {
      files = await fileWatch({ clone: local, remote }, () => undefined, (e) => errors.push(e));
      rmSync(remote, { recursive: true, force: true });
      files.again();
      await until('the renewal with the remote away', () => kernel.tries() >= 2, 10_000);
      gitCli(['init', '-q', '--bare', '-b', 'main', remote]);
      await until('the renewal with the remote back', () => (files?.recheck(), kernel.tries() >= 3), 10_000);
      expect(errors).toHaveLength(1);
    } finally {
      kernel.restore();
      await files?.close();
    }
  });
});
