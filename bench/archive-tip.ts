import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pruneArchiveTip } from '../bus/archive/tip-prune.js';
import { openBus } from '../bus/context.js';
import { archive } from '../bus/ops/archive.js';
import { claim } from '../bus/ops/claim.js';
import { dispatch } from '../bus/ops/dispatch.js';
import { initBus } from '../bus/ops/init.js';
import { joinBus } from '../bus/ops/join.js';
import { respond } from '../bus/ops/respond.js';
import { writeArchive } from './archive.js';
import { tmp } from './fixtures.js';
import { serveOverHttp } from './git-host-process.js';
import { age, diskKiB } from './disk.js';
import { fmt } from './stats.js';

const BIN = fileURLToPath(new URL('../../bin/gitbus.js', import.meta.url));

/**
 * The archive's tip repository inside a node's clone (bus/archive/shallow-tip.ts), on a remote that serves no path
 * reads (git http-backend without uploadpack.allowFilter and allowAnySHA1InWant): an archive of `finished` tasks,
 * then `runs` archive runs of `perRun` tasks each, every one followed by a `show` of a task it archived on the node,
 * which fetches the new tip. Its size after them, and after the housekeeping (bus/archive/tip-prune.ts, as the
 * watcher's hourly run finds it two hours later), against `git clone --bare --depth 1 --branch archive` of the remote.
 */
export async function archiveTipBench(lines: string[], finished: number, runs: number, perRun: number): Promise<void> {
  const dir = tmp('gitbus-bench-archive-tip-');
  const remote = join(dir, 'bus.git');
  const admin = join(dir, 'admin');
  await initBus(admin, { remote, node: 'admin' });
  await writeArchive(remote, dir, finished);
  execFileSync('git', ['--git-dir', remote, '-c', 'pack.writeReverseIndex=true', 'gc', '--quiet']);
  for (const key of ['uploadpack.allowFilter', 'uploadpack.allowAnySHA1InWant']) execFileSync('git', ['--git-dir', remote, 'config', '--unset', key]);
  const host = await serveOverHttp(dir);
  const node = join(dir, 'node');
  await joinBus(node, `${host.url}/bus.git`, { node: 'reader' });
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache'), GITBUS_SERVE_AUTO: '0' };
  delete env['GITBUS_HOME'];
  const show = (id: string) => {
    const r = spawnSync(process.execPath, [BIN, 'show', id, '--home', node], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`gitbus show ${id} exited ${String(r.status)}: ${r.stderr.toString()}`);
  };
  try {
    show('bench-000000');
    const side = join(node, 'clone.git', 'gitbus-archive-tip.git');
    const first = diskKiB(side);
    const ctx = await openBus(admin);
    try {
      for (let r = 0; r < runs; r++) {
        const ids: string[] = [];
        for (let i = 0; i < perRun; i++) {
          const d = await dispatch(ctx, { handoff: { title: `run ${r} task ${i}` }, body: '## Task\n\nbench\n' });
          await claim(ctx, { id: d.id });
          await respond(ctx, { id: d.id, status: 'succeeded' });
          ids.push(d.id);
        }
        await archive(ctx, { all: true });
        show(ids[0] as string);
      }
    } finally {
      await ctx.repo.close();
    }
    const grown = diskKiB(side);
    age(side, 2 * 3600_000, ['refs/heads/archive']);
    const t0 = performance.now();
    const report = await pruneArchiveTip(join(node, 'clone.git'), { graceMs: 3600_000 });
    const pruneMs = performance.now() - t0;
    const pruned = diskKiB(side);
    const fresh = join(dir, 'fresh.git');
    execFileSync('git', ['clone', '-q', '--bare', '--depth', '1', '--branch', 'archive', `file://${remote}`, fresh]);
    const base = diskKiB(fresh);
    const k = (x: number) => `${fmt(x)} KiB`;
    lines.push(
      `## The archive's tip repository of a node on a remote without path reads: ${finished} archived tasks, then ${runs} archive runs of ${perRun}, each followed by a lookup`,
      '',
      `${'after the first lookup'.padEnd(34)}${k(first)} (the tip in one pack)`,
      `${`after ${runs} runs and lookups`.padEnd(34)}+${k(grown - first)} (${fmt((grown - first) / runs)} KiB a run)`,
      `${"after gitbus's prune".padEnd(34)}+${k(pruned - first)} in ${fmt(pruneMs)} ms: ${report?.removed ?? 0} loose objects removed (${k((report?.removedBytes ?? 0) / 1024)} of object files)${report?.repacked !== undefined ? `, what the tip reaches packed (${report.repacked} pack${report.repacked === 1 ? '' : 's'} before)` : ''}`,
      '',
      `baseline: git clone --bare --depth 1 --branch archive of the remote, ${k(base)}; sizes as du counts them`,
      '',
    );
  } finally {
    host.stop();
  }
}
