import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { projectPaths } from '../../bus/home.js';
import { git, NETWORK_GIT_MS, outageOf, ProjectGitError } from '../../bus/project/git.js';
import { GitbusError } from '../../schemas/errors.js';
import { cacheName } from './project-config.js';
import { shellWord } from '../../bus/project/shell-word.js';
import { rememberDefaultBranch, rememberedDefaultBranch } from './default-branch.js';

/**
 * One cached clone per project repository in the node's home (`<home>/projects/<name>-<hash>.git`, bare): every
 * task's worktree is made from it, so a project is cloned once per node and only fetched after that. Its branches
 * are the tasks' result branches; the remote's branches are under refs/remotes/origin/.
 */
export interface ProjectCache {
  gitDir: string;
  url: string;
}

/** Per cached clone, one git operation that moves refs at a time within this process (two tasks of one project). */
const queues = new Map<string, Promise<unknown>>();

export function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const before = queues.get(key) ?? Promise.resolve();
  const next = before.catch(() => undefined).then(work);
  queues.set(key, next);
  void next.finally(() => {
    if (queues.get(key) === next) queues.delete(key);
  }).catch(() => undefined);
  return next;
}

/** The cached clone of `url`, made (empty, with `origin` set) when missing; made in a temporary folder and renamed, so a crash leaves none half-made. */
export async function ensureCache(home: string, url: string): Promise<ProjectCache> {
  const dir = projectPaths(home).cache;
  const gitDir = join(dir, cacheName(url));
  if (existsSync(join(gitDir, 'HEAD'))) return { gitDir, url };
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.new-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await git(['init', '--bare', '--quiet', tmp], { what: 'could not make the project cache' });
    await git(['config', 'remote.origin.url', url], { gitDir: tmp });
    await git(['config', 'remote.origin.fetch', REMOTE_BRANCHES], { gitDir: tmp });
    // Worktrees of tasks share this clone; git's own gc must not prune what a worktree still needs.
    await git(['config', 'gc.worktreePruneExpire', 'never'], { gitDir: tmp });
    try {
      renameSync(tmp, gitDir);
    } catch (err) {
      // Another process made it first.
      if (!existsSync(join(gitDir, 'HEAD'))) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { gitDir, url };
}

/** Where the remote's branches are kept in the cached clone (read as `refs/remotes/origin/<branch>` everywhere). */
export const REMOTE_BRANCHES = '+refs/heads/*:refs/remotes/origin/*';

/**
 * The arguments that name the project remote in a fetch, push or listing of the cached clone: its URL, the one the
 * task's handoff resolves to, never `origin` as the clone's config says. That config is shared by every worktree of
 * the clone, so a task may rewrite it (`git config remote.origin.pushurl /other.git`), and every later task's branch
 * would go there while its response said it went to the project. `--` first: a URL is never read as an option.
 */
export function remoteArgs(cache: Pick<ProjectCache, 'url'>): string[] {
  return ['--', urlWithoutCredentials(cache.url) ?? cache.url];
}

/**
 * What git needs beside remoteArgs for a URL that carries a credential (a token in a node.yaml project URL): the URL
 * with it, as a rewrite of the one on the command line, in the environment (`GIT_CONFIG_*`), which only this user
 * may read; a command line is anyone's to see (`ps`). Empty for a URL without one.
 */
export function remoteEnv(cache: Pick<ProjectCache, 'url'>, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const bare = urlWithoutCredentials(cache.url);
  if (bare === null) return {};
  // After any the environment already gives git.
  const given = Number(env['GIT_CONFIG_COUNT'] ?? '0');
  const n = Number.isSafeInteger(given) && given >= 0 ? given : 0;
  return { GIT_CONFIG_COUNT: String(n + 1), [`GIT_CONFIG_KEY_${n}`]: `url.${cache.url}.insteadOf`, [`GIT_CONFIG_VALUE_${n}`]: bare };
}

/**
 * A URL's credential taken out, or null when it has none: the whole user part of an http(s) URL (a token goes there
 * as often as in the password), the password of another scheme's (`ssh://user@host` names who logs in). Pure.
 */
export function urlWithoutCredentials(url: string): string | null {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@(.*)$/i.exec(url);
  if (!m?.[1] || m[2] === undefined || m[3] === undefined) return null;
  if (/^https?:\/\/$/i.test(m[1])) return `${m[1]}${m[3]}`;
  const colon = m[2].indexOf(':');
  return colon < 0 ? null : `${m[1]}${m[2].slice(0, colon)}@${m[3]}`;
}

export class CloneConfigError extends GitbusError {
  readonly code = 'PROJECT_CLONE_CONFIG';
}

/**
 * Keys of the cached clone's own config (local or worktree scope) that could send a fetch or push given the project's
 * URL elsewhere, or run a command of their own inside gitbus's git (outside any task's timeout and process group):
 * `url.*` (insteadOf, pushInsteadOf), `remote.<url>.*` (git reads `remote.<url>.pushurl`, `.uploadpack` for a URL it
 * is given), `include.*` and `includeIf.*` (any of these from another file), `core.fsmonitor` and `core.sshCommand`
 * (commands), `credential.*` (a helper is a command) and `http.*` (a proxy, no TLS check). gitbus writes none of
 * them; a task may, from its worktree, since the config is shared by every worktree of the clone. Other keys a task
 * leaves (a remote of its own, such as `git remote add upstream`; `user.email`) change nothing gitbus does.
 */
const RISKY_KEY = /^(url\..+|include\..+|includeif\..+|core\.fsmonitor|core\.sshcommand|credential\..*|http\..+|remote\..*[:/].*\.[a-z]+)$/;

/** A risky key of the cached clone's config (RISKY_KEY), read by git itself (config.worktree, includes, every syntax it takes), or null. */
export async function cloneConfigProblem(gitDir: string): Promise<CloneConfigError | null> {
  const r = await git(['config', '--list', '--show-scope', '--name-only'], { gitDir, okCodes: [1, 128] });
  if (r.code !== 0) return null;
  for (const line of r.stdout.split('\n')) {
    const tab = line.indexOf('\t');
    const scope = line.slice(0, tab);
    const key = line.slice(tab + 1);
    if (tab < 0 || (scope !== 'local' && scope !== 'worktree') || !RISKY_KEY.test(key.toLowerCase())) continue;
    return new CloneConfigError(
      `the project clone ${gitDir} has ${key} in its ${scope} config, which gitbus never writes (a task may have, from its worktree): it could send the project's fetches and pushes elsewhere, or run a command inside gitbus's git, so none is made`,
      `remove it: git --git-dir ${shellWord(gitDir)} config --${scope} --unset-all ${shellWord(key)} (a branch waiting to be pushed is then pushed; a task that failed for it can be dispatched again)`,
      { gitDir, key, scope },
    );
  }
  return null;
}

/** Throws what cloneConfigProblem finds. */
async function checkCloneConfig(gitDir: string): Promise<void> {
  const problem = await cloneConfigProblem(gitDir);
  if (problem) throw problem;
}

/** Fetches every branch of the project (and `extra` refspecs); `isProjectOutage` tells an outage from a refusal. */
export async function fetchProject(cache: ProjectCache, extra: string[] = []): Promise<void> {
  await serialized(cache.gitDir, async () => {
    await checkCloneConfig(cache.gitDir);
    await git(['fetch', '--quiet', '--prune', '--no-tags', ...remoteArgs(cache), REMOTE_BRANCHES, ...extra], {
        env: remoteEnv(cache),
        gitDir: cache.gitDir,
        timeoutMs: NETWORK_GIT_MS,
        what: `could not fetch the project ${cache.url}`,
        fix: 'check that this node reaches the project remote and may read it (git fetch works there by hand), or correct the repo',
    });
  });
}

/** Whether the cached clone has this commit. */
export async function hasCommit(gitDir: string, commit: string): Promise<boolean> {
  const r = await git(['cat-file', '-e', `${commit}^{commit}`], { gitDir, okCodes: [1, 128] });
  return r.code === 0;
}

/** The commit a ref of the cached clone points at, or null. */
export async function refCommit(gitDir: string, ref: string): Promise<string | null> {
  const r = await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { gitDir, okCodes: [1, 128] });
  return r.code === 0 ? r.stdout.trim() : null;
}

/**
 * The commits these names (full refs or commit ids) point at in the cached clone, null where none: several
 * lookups in one git process. The names come validated (commitSchema, branchSchema): one line each.
 */
export async function commitsOf(gitDir: string, names: string[]): Promise<(string | null)[]> {
  const r = await git(['cat-file', '--batch-check=%(objectname)'], { gitDir, input: names.map((n) => `${n}^{commit}\n`).join(''), okCodes: [128] });
  // A clone git cannot read answers nothing here; the callers' own checks then say why.
  if (r.code !== 0) return names.map(() => null);
  const lines = r.stdout.split('\n');
  // A name git cannot resolve comes back as "<name> missing" (or "ambiguous"), never as a bare object id.
  return names.map((_, i) => (/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(lines[i] ?? '') ? (lines[i] ?? null) : null));
}

export async function isAncestor(gitDir: string, ancestor: string, of: string): Promise<boolean> {
  const r = await git(['merge-base', '--is-ancestor', ancestor, of], { gitDir, okCodes: [1] });
  return r.code === 0;
}

export class BaseMissingError extends GitbusError {
  readonly code = 'BASE_MISSING';
}

/** Whether a project git failure is an outage (retry later) rather than a refusal. */
export function isProjectOutage(err: unknown): boolean {
  return err instanceof ProjectGitError && outageOf(err.stderr) !== null;
}

/**
 * The fix of a base commit the project remote lacks: the push that puts it there, from the dispatching checkout,
 * whose name for the remote this node cannot know (`origin` is only the most common one). `base` is quoted: it
 * comes from the bus. Pure.
 */
export function baseMissingFix(base: string | undefined, url: string): string {
  const b = shellWord(base ?? 'HEAD');
  return `push ${b} to the project remote ${url} from the dispatching checkout (git push REMOTE ${b}, REMOTE being that checkout's name for it: git remote -v lists them) and dispatch again`;
}

/**
 * `git fetch origin <refspec>` into the cached clone. A refusal (no such ref or commit) is left to the caller, which
 * looks for what it wanted; an outage is thrown: it is not "not on the remote", and the caller tells it apart and may
 * try again. `what` names it in the message, `shown` in the command the error quotes.
 */
async function fetchUnlessOut(cache: ProjectCache, refspec: string, what: string, shown: string): Promise<void> {
  const r = await serialized(cache.gitDir, async () => {
    await checkCloneConfig(cache.gitDir);
    return git(['fetch', '--quiet', '--no-tags', ...remoteArgs(cache), refspec], { gitDir: cache.gitDir, env: remoteEnv(cache), timeoutMs: NETWORK_GIT_MS, okCodes: [1, 128] });
  });
  if (r.code !== 0 && outageOf(r.stderr) !== null) throw new ProjectGitError(`could not fetch ${what} from ${cache.url}`, ['fetch', cache.url, shown], r.stderr, r.code, 'check that this node reaches the project remote');
}

/**
 * The commit a task starts from: `baseCommit` as the dispatcher saw it (fetched by id if no branch has it any
 * more), else `base` as a branch, tag or commit of the remote, else the remote's default branch (as listed in the
 * last ten minutes: watcher/workspace/default-branch.ts).
 * `baseCommitKnown`: the caller already saw the cached clone has `baseCommit`.
 */
export async function resolveBase(cache: ProjectCache, h: { base?: string; baseCommit?: string }, baseCommitKnown = false, now: () => number = Date.now): Promise<{ commit: string; base: string }> {
  const missing = (what: string, fix: string) => new BaseMissingError(`${what} is not on the project remote ${cache.url}`, fix, { url: cache.url });
  if (h.baseCommit) {
    if (!baseCommitKnown && !(await hasCommit(cache.gitDir, h.baseCommit))) {
      await fetchUnlessOut(cache, h.baseCommit, h.baseCommit, h.baseCommit);
      if (!(await hasCommit(cache.gitDir, h.baseCommit))) throw missing(`the base commit ${h.baseCommit}${h.base ? ` (${h.base})` : ''}`, baseMissingFix(h.base, cache.url));
    }
    return { commit: h.baseCommit, base: h.base ?? h.baseCommit };
  }
  if (h.base) {
    for (const ref of [`refs/remotes/origin/${h.base}`, ...(/^[0-9a-f]{7,64}$/.test(h.base) ? [h.base] : [])]) {
      const c = await refCommit(cache.gitDir, ref);
      if (c) return { commit: c, base: h.base };
    }
    // A whole commit id no branch has (one a tag or a pull request holds: a schedule's instances carry the `base`
    // it was given, not a `baseCommit`): fetched by id, as `baseCommit` is.
    if (/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(h.base)) {
      await fetchUnlessOut(cache, h.base, h.base, h.base);
      // An annotated tag's own id: its commit.
      const fetched = await refCommit(cache.gitDir, h.base);
      if (fetched) return { commit: fetched, base: h.base };
    }
    await fetchUnlessOut(cache, `+refs/tags/${h.base}:refs/tags/${h.base}`, `tag ${h.base}`, `refs/tags/${h.base}`);
    const tag = await refCommit(cache.gitDir, `refs/tags/${h.base}`);
    if (tag) return { commit: tag, base: h.base };
    throw missing(`base "${h.base}"`, 'name a branch, tag or commit the project remote has, or push it first');
  }
  // The default branch as listed in the last DEFAULT_BRANCH_TTL_MS (watcher/workspace/default-branch.ts), while the
  // fetch just made still has it.
  const remembered = rememberedDefaultBranch(cache.gitDir, now());
  const known = remembered ? await refCommit(cache.gitDir, `refs/remotes/origin/${remembered}`) : null;
  if (remembered && known) return { commit: known, base: remembered };
  await checkCloneConfig(cache.gitDir);
  const head = await git(['ls-remote', '--symref', ...remoteArgs(cache), 'HEAD'], { gitDir: cache.gitDir, env: remoteEnv(cache), timeoutMs: NETWORK_GIT_MS, okCodes: [2] });
  const branch = /^ref: refs\/heads\/(\S+)\s+HEAD$/m.exec(head.stdout)?.[1];
  const c = branch ? await refCommit(cache.gitDir, `refs/remotes/origin/${branch}`) : null;
  if (!branch || !c) throw missing('a default branch', 'give the task a base (dispatch --base BRANCH, or "base:" in the handoff)');
  rememberDefaultBranch(cache.gitDir, branch, now());
  return { commit: c, base: branch };
}
