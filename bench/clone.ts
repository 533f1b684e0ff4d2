import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pruneClone } from '../bus/store/clone-prune.js';
import { tmp } from './fixtures.js';
import { age, diskKiB } from './disk.js';
import { fmt } from './stats.js';

const BIN = fileURLToPath(new URL('../../bin/gitbus.js', import.meta.url));

/**
 * What a node's clone holds on disk after `commits` commits on a bus of `tasks` live tasks (each a `dispatch` by one
 * node, fetched by a `status` of another), before and after gitbus's housekeeping (bus/store/clone-prune.ts, as a
 * watcher's hourly run finds them two hours later: files two hours old, main moved since), against a fresh `git clone --depth 1`
 * of the same bus measured the same way, and against `git gc --prune=now` on a copy of the same clone (which keeps
 * the whole history, in a pack). Disk is counted as `du` counts it: the blocks of every file under the clone.
 */
export async function cloneBench(lines: string[], tasks: number, commits: number): Promise<void> {
  const dir = tmp('gitbus-bench-clone-');
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
  delete env['GITBUS_HOME'];
  const gitbus = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`gitbus ${args.join(' ')} exited ${String(r.status)}: ${r.stderr.toString()}`);
  };
  const remote = join(dir, 'bus.git');
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  gitbus(['init', '--remote', remote, '--node', 'a', '--home', a]);
  gitbus(['join', remote, '--node', 'b', '--home', b]);
  const file = join(dir, 'tasks.jsonl');
  writeFileSync(file, Array.from({ length: tasks }, (_, i) => JSON.stringify({ title: `task ${i}`, to: 'a' })).join('\n') + '\n');
  if (tasks > 0) gitbus(['dispatch', '--from', file, '--no-git', '--home', a]);
  gitbus(['status', '--home', b]);
  const clone = join(b, 'clone.git');
  const start = diskKiB(clone);
  for (let i = 0; i < commits; i++) {
    gitbus(['dispatch', `probe ${i}`, '--to', 'a', '--no-git', '--home', a]);
    gitbus(['status', '--home', b]);
  }
  const grown = diskKiB(clone);

  const fresh = join(dir, 'fresh.git');
  execFileSync('git', ['clone', '-q', '--bare', '--depth', '1', `file://${remote}`, fresh]);
  const base = diskKiB(fresh);
  const copy = join(dir, 'copy.git');
  cpSync(clone, copy, { recursive: true });

  // As the watcher's run finds them two hours later, main having moved since: its files two hours old, and none of
  // these commits within an hour of main's tip.
  age(clone, 2 * 3600_000);
  const t0 = performance.now();
  const r = await pruneClone(clone, { keepRecentlyCommitted: false });
  const pruneMs = performance.now() - t0;
  const pruned = diskKiB(clone);
  const t1 = performance.now();
  execFileSync('git', ['--git-dir', copy, 'gc', '-q', '--prune=now'], { stdio: 'ignore' });
  const gitGcMs = performance.now() - t1;
  const packed = diskKiB(copy);

  const k = (x: number) => `${fmt(x)} KiB`;
  lines.push(
    `## A node's clone after ${commits} commits on a bus of ${tasks} live tasks`,
    '',
    `${'after join and the first status'.padEnd(36)}${k(start)}`,
    `${`after ${commits} commits`.padEnd(36)}+${k(grown - start)} (${fmt((grown - start) / commits)} KiB a commit)`,
    `${"after gitbus's prune".padEnd(36)}+${k(pruned - start)} (${((pruned - start) / Math.max(1, grown - start)).toFixed(2)}x the growth) in ${fmt(pruneMs)} ms: ${r.removed} of ${r.loose} loose objects removed, ${r.commits} commits kept`,
    `${'after git gc --prune=now (a copy)'.padEnd(36)}${k(packed)} in all, in ${fmt(gitGcMs)} ms: every commit kept, in one pack`,
    '',
    `baseline: git clone --bare --depth 1 of the same bus, ${k(base)}; sizes as du counts them (every file's blocks); a gitbus clone starts with its 256 object folders (1 MiB) and its caches`,
    '',
  );
}
