import { git } from './git.js';
import type { RemoteListing } from './ls-remote.js';
import { shellWord as word } from './shell-word.js';

/**
 * Is a commit on the project remote? The worker fetches the task's base commit from there, so a commit only the
 * dispatcher has would fail the task on the worker, late and far away; dispatch asks first. A network call
 * (`git ls-remote` of the branches and tags, ls-remote.ts; of every ref as well only when those do not decide,
 * resolve.ts) and local git: the commit is on the remote when some advertised ref points at
 * it, or when it is an ancestor of an advertised commit this checkout has (`git rev-list`, the one-process form
 * of `git merge-base --is-ancestor` against every advertised tip at once).
 */

/** Whether `commit` is one of `tips` or, in the repository at `dir`, an ancestor of one of those it has. */
export async function reachableFrom(commit: string, tips: Iterable<string>, dir: string | null): Promise<boolean> {
  const all = new Set(tips);
  if (all.has(commit)) return true;
  if (dir === null || all.size === 0) return false;
  // Tips this repository lacks cannot contain the commit as far as it can tell, and would make rev-list fail.
  const check = await git(['cat-file', '--batch-check=%(objectname) %(objecttype)'], { cwd: dir, input: [...all].join('\n') + '\n' });
  const have = check.stdout
    .split('\n')
    .map((l) => l.split(' '))
    .filter(([sha, type]) => sha !== undefined && (type === 'commit' || type === 'tag'))
    .map(([sha]) => sha as string);
  if (have.length === 0) return false;
  // Prints the commit unless a tip reaches it: empty output means it is an ancestor of one of them.
  const r = await git(['rev-list', '--max-count=1', '--stdin'], { cwd: dir, input: [commit, ...have.map((s) => `^${s}`)].join('\n') + '\n' });
  return r.stdout.trim() === '';
}

/** Whether `commit` is on the remote that advertised `listing`, judged with the checkout at `dir`. */
export function onRemote(commit: string, listing: RemoteListing, dir: string | null): Promise<boolean> {
  return reachableFrom(commit, listing.refs.values(), dir);
}

/**
 * The branch a short name is in the checkout at `dir`, before anything else it could name: `refs/heads/NAME`, then
 * `refs/remotes/<remote>/NAME`, as the worker (watcher/workspace/cache.ts) and the remote's listing
 * (ls-remote.ts) take it; git's own rule (`rev-parse NAME`) would take a tag of the same name first. With the tag
 * of that name when there is one too, for a warning. Null when no branch has the name (or it is no short name).
 */
export async function localBranch(base: string, dir: string, remote: string | null): Promise<{ ref: string; commit: string; tag: boolean } | null> {
  if (base === 'HEAD' || base.startsWith('refs/')) return null;
  const wanted = [`refs/heads/${base}`, ...(remote !== null ? [`refs/remotes/${remote}/${base}`] : []), `refs/tags/${base}`];
  const r = await git(['for-each-ref', '--format=%(refname) %(objectname) %(objecttype)', ...wanted], { cwd: dir, okCodes: [1, 128] });
  // for-each-ref also lists refs below a pattern (refs/heads/NAME/x): only the exact names count.
  const found = new Map<string, { sha: string; type: string }>();
  for (const line of r.stdout.split('\n')) {
    const [ref, sha, type] = line.split(' ');
    if (ref !== undefined && sha !== undefined && type !== undefined && wanted.includes(ref)) found.set(ref, { sha, type });
  }
  const hit = wanted.slice(0, -1).find((ref) => found.get(ref)?.type === 'commit');
  return hit ? { ref: hit, commit: (found.get(hit) as { sha: string }).sha, tag: found.has(`refs/tags/${base}`) } : null;
}

/** What `--base NAME` says when a tag shares the branch's name: the branch is taken, and how to name the tag. Pure. */
export function tagTooWarning(base: string, branchRef: string, commit: string): string {
  return `--base ${base} names a branch (${branchRef}, ${commit.slice(0, 12)}) and a tag: the branch is used, never the tag of the same name; give --base refs/tags/${base} for the tag`;
}

/** The commit `base` names in the checkout at `dir` as git reads it, or null when it names none there: after localBranch, which reads a branch's name before git's rule would take a tag of it. */
export async function resolveLocally(base: string, dir: string): Promise<string | null> {
  const r = await git(['rev-parse', '-q', '--verify', `${base}^{commit}`], { cwd: dir, okCodes: [1, 128] });
  const sha = r.stdout.trim();
  return r.code === 0 && sha !== '' ? sha : null;
}

/** What kind of ref `base` is in the checkout: the full name (`refs/heads/x`, `refs/tags/v1`; a branch first), or null for a commit expression. */
export async function fullRefName(base: string, dir: string): Promise<string | null> {
  const branch = await localBranch(base, dir, null);
  if (branch) return branch.ref;
  const r = await git(['rev-parse', '--symbolic-full-name', base], { cwd: dir, okCodes: [1, 128] });
  const name = r.stdout.trim().split('\n')[0] ?? '';
  return r.code === 0 && name.startsWith('refs/') ? name : null;
}

/**
 * The remote-tracking tips of `remote` in the checkout: where the remote's branches were when last seen. Not those of
 * the remotes `below` it (`origin/mirror` beside `origin`: git keeps them under `refs/remotes/origin/mirror/`).
 */
export async function trackingTips(remote: string, dir: string, below: readonly string[] = []): Promise<string[]> {
  const r = await git(['for-each-ref', '--format=%(objectname) %(refname)', `refs/remotes/${remote}/`], { cwd: dir });
  const tips: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0 || below.some((name) => line.startsWith(`refs/remotes/${name}/`, space + 1))) continue;
    tips.push(line.slice(0, space));
  }
  return tips;
}

/** The remotes of a checkout named below `name` (`origin/mirror` for `origin`), whose refs sit among its own. Pure. */
export function remotesBelow(remotes: readonly { name: string }[], name: string): string[] {
  return remotes.map((r) => r.name).filter((n) => n.startsWith(`${name}/`));
}

/**
 * Whether another remote of the checkout is named above `name` (`origin` for `origin/a`): its branches' refs (origin's
 * `a/x` is `refs/remotes/origin/a/x`) sit among `name`'s, and cannot be told from them by their names. Pure.
 */
export function remoteAbove(remotes: readonly { name: string }[], name: string): boolean {
  return remotes.some((r) => name.startsWith(`${r.name}/`));
}

/** What the base is in the dispatcher's checkout, for the command that pushes it. */
export type BaseSource =
  | { kind: 'current-branch'; branch: string; upstream: { remote: string; branch: string } | null }
  | { kind: 'branch'; branch: string }
  | { kind: 'tag'; tag: string }
  | { kind: 'commit' };

/** The one command that puts the base commit on the remote `remote` (a remote name, or its URL). Pure. */
export function pushCommand(remote: string, commit: string, source: BaseSource): string {
  const r = word(remote);
  switch (source.kind) {
    case 'current-branch': {
      const up = source.upstream;
      if (up && up.remote === remote) return up.branch === source.branch ? `git push ${r} ${word(source.branch)}` : `git push ${r} ${word(`${source.branch}:${up.branch}`)}`;
      return `git push -u ${r} ${word(`HEAD:${source.branch}`)}`;
    }
    case 'branch':
      return `git push ${r} ${word(source.branch)}`;
    case 'tag':
      return `git push ${r} ${word(`refs/tags/${source.tag}`)}`;
    case 'commit':
      // A commit on no branch needs one on the remote: a name of its own, which nothing else uses.
      return `git push ${r} ${commit}:refs/heads/gitbus/base-${commit.slice(0, 12)}`;
  }
}
