import { fs } from '../node-fs.js';
import { join } from 'node:path';
import { fetchObjects } from '../git/fetch.js';
import type { BusRepo } from '../repo.js';
import { writeLocalRef } from '../store/local-ref.js';
import { makeDirsBelow } from '../store/make-dirs.js';
import { FetchFailedError, FetchWantGoneError } from '../git/fetch-errors.js';
import { LOCAL_GIT_MS } from '../project/git.js';
import { HISTORY_SKEW_S } from '../store/prune-plan.js';
import { runGit } from '../transport/run-git.js';
import { CatFileSource } from './cat-file.js';

export const TIP_DIR = 'gitbus-archive-tip.git';
export const TIP_REF = 'refs/heads/archive';

/**
 * For a remote that serves no path reads: the archive's tip alone (depth 1, never its history) fetched into a
 * repository of its own inside the clone, kept as a pack, and read from with git cat-file; only the objects a lookup
 * needs are copied into the clone. Later tips fetch only what they add (fetchTip). The clone itself never holds the
 * big pack (isomorphic-git would load its index, seconds at 100,000 tasks, in every process that misses a loose
 * object). The clone's housekeeping cuts its history at the tip and removes the earlier tips (tip-prune.ts).
 */
export async function shallowTipSource(repo: BusRepo, tip: string): Promise<CatFileSource> {
  const side = join(repo.gitdir, TIP_DIR);
  if (!fs.existsSync(join(side, 'HEAD'))) {
    makeDirsBelow(fs, repo.gitdir, TIP_DIR, 'objects', 'pack');
    makeDirsBelow(fs, side, 'refs', 'heads');
    fs.writeFileSync(join(side, 'config'), '[core]\n\trepositoryformatversion = 0\n\tbare = true\n');
    fs.writeFileSync(join(side, 'HEAD'), `ref: ${TIP_REF}\n`);
  }
  let previous: string | null = null;
  try {
    previous = fs.readFileSync(join(side, TIP_REF), 'utf8').trim() || null;
  } catch {
    previous = null;
  }
  if (previous !== tip) {
    await fetchTip(repo, side, tip, previous);
    writeLocalRef(side, TIP_REF, tip);
  }
  return new CatFileSource(side, repo.gitdir, (oid) => repo.hasObject(oid));
}

/**
 * The tip's objects into the side repository: the first time at depth 1, the whole tip; after that, what the new tip
 * adds to the previous one: the history committed since the previous tip (less HISTORY_SKEW_S, for clocks that
 * disagree), which the remote sends down to the previous tip, a have. At depth 1 the remote cuts the new tip's
 * parents, so the previous tip named nothing it sent, and every lookup after an archive run fetched the whole tip
 * again (until session 60). A bound the remote refuses (nothing committed since: a rewritten archive dated by a slow
 * clock; a git older than 2.11; over HTTP an empty answer) falls back to depth 1, as does a previous tip this
 * repository cannot date.
 */
async function fetchTip(repo: BusRepo, side: string, tip: string, previous: string | null): Promise<void> {
  const since = previous === null ? null : await sinceFor(side, previous);
  if (previous !== null && since !== null) {
    try {
      await fetchObjects({ fs, gitdir: side, cache: {}, transport: repo.transport, want: tip, haves: [previous], deepenSince: since });
      return;
    } catch (err) {
      if (!(err instanceof FetchFailedError) || err instanceof FetchWantGoneError) throw err;
    }
  }
  await fetchObjects({ fs, gitdir: side, cache: {}, transport: repo.transport, want: tip, haves: previous ? [previous] : [], depth: 1 });
}

/**
 * The bound of a fetch after `previous` (Unix seconds): its time less HISTORY_SKEW_S (an hour ago when it is dated in
 * this machine's future), so that the remote's walk from the new tip reaches the previous one, a have, through commits
 * of clocks that disagree: a walk cut above it makes the new tip a boundary, whose whole tree the remote sends again.
 * Below a prune's cut at the previous tip, the remote sends its parents of that hour again (their commits and the
 * trees they changed, not the tip's tree), which the next prune takes. Null when git cannot date it (the fetch is
 * then made at depth 1).
 */
async function sinceFor(side: string, previous: string): Promise<number | null> {
  const r = await tipGit(side, ['log', '-1', '--format=%ct', previous]).catch(() => null);
  const at = r?.ok === true ? Number(r.stdout.trim()) : Number.NaN;
  return Number.isFinite(at) && at > 0 ? Math.min(at, Date.now() / 1000) - HISTORY_SKEW_S : null;
}

/** git in the archive's tip repository `side`, in an environment that names no other (a git hook's), its output whole; its last lines of stderr. Throws only when git cannot run or takes too long. */
export async function tipGit(side: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const r = await runGit({ gitPath: 'git', args: ['--git-dir', side, ...args], timeoutMs: LOCAL_GIT_MS, what: `git ${args[0] ?? ''} in the archive's tip repository`, remote: side });
  return { ok: r.exitCode === 0, stdout: Buffer.from(r.stdout).toString('utf8'), stderr: r.stderr.trim().split('\n').slice(-3).join('\n') || `exit code ${String(r.exitCode)}` };
}
