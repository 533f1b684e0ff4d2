import { isAbsolute, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { git } from '../project/git.js';
import type { FanoutProject } from '../model/fanout.js';

/**
 * Where a fan-out's code comes from: `--repo`, `--base` and `--base-commit`, and for what they leave out, the
 * checkout `gitbus fanout` runs in. This is the seam to the dispatch side (bus/project/checkout.ts and
 * base-check.ts fill and check the same three fields for `gitbus dispatch`); `projectFrom` is a minimal reading
 * of the checkout — its remote, its branch, its HEAD — meant to be replaced by that resolver, which also refuses a
 * base commit that is not on the remote yet.
 */

export interface FanoutProjectFlags {
  repo?: string;
  base?: string;
  baseCommit?: string;
}

/** A local path, as a worker on another machine needs it: absolute. URLs and `host:path` are left as they are. */
function absoluteRepo(repo: string, cwd: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+:/.test(repo) || isAbsolute(repo)) return repo;
  return resolve(cwd, repo);
}

async function optional(args: string[], cwd: string): Promise<string | null> {
  try {
    const r = await git(args, { cwd, okCodes: [1, 128] });
    const out = r.stdout.trim();
    return r.code === 0 && out !== '' ? out : null;
  } catch {
    return null;
  }
}

/** The checkout at `cwd`: its remote's URL (the branch's upstream, else origin), its branch (or commit), its HEAD. */
export async function projectFrom(cwd: string): Promise<Partial<FanoutProject> & { top: string | null }> {
  const top = await optional(['rev-parse', '--show-toplevel'], cwd);
  if (top === null) return { top: null };
  const branch = await optional(['symbolic-ref', '-q', '--short', 'HEAD'], top);
  const upstream = branch ? await optional(['config', '--get', `branch.${branch}.remote`], top) : null;
  const remote = upstream && upstream !== '.' ? upstream : 'origin';
  // The base as the remote calls it: a local branch may track one of another name.
  const merge = upstream && upstream !== '.' ? await optional(['config', '--get', `branch.${branch}.merge`], top) : null;
  const remoteBranch = merge?.startsWith('refs/heads/') ? merge.slice('refs/heads/'.length) : branch;
  const url = await optional(['remote', 'get-url', remote], top);
  const head = await optional(['rev-parse', '-q', '--verify', 'HEAD^{commit}'], top);
  return {
    top,
    ...(url ? { repo: absoluteRepo(url, top) } : {}),
    ...(remoteBranch ? { base: remoteBranch } : head ? { base: head } : {}),
    ...(head ? { baseCommit: head } : {}),
  };
}

/** The fan-out's project from the flags, completed from the checkout at `cwd`; BAD_INPUT naming what is missing. */
export async function fanoutProject(cwd: string, flags: FanoutProjectFlags): Promise<FanoutProject> {
  const repo = flags.repo !== undefined ? absoluteRepo(flags.repo, cwd) : undefined;
  if (repo !== undefined && flags.base !== undefined && flags.baseCommit !== undefined) return { repo, base: flags.base, baseCommit: flags.baseCommit };
  const local = await projectFrom(cwd);
  const fix = 'run gitbus fanout inside a checkout of the project (on the branch to start from, pushed), or give --repo URL --base REF --base-commit SHA';
  const out = { repo: repo ?? local.repo, base: flags.base ?? local.base, baseCommit: flags.baseCommit };
  if (out.baseCommit === undefined && flags.base !== undefined && local.top !== null) {
    out.baseCommit = (await optional(['rev-parse', '-q', '--verify', `${flags.base}^{commit}`], local.top)) ?? undefined;
  } else if (out.baseCommit === undefined && flags.base === undefined) {
    out.baseCommit = local.baseCommit;
  }
  const missing = (['repo', 'base', 'baseCommit'] as const).filter((k) => out[k] === undefined);
  if (missing.length > 0) {
    const where = local.top === null ? `${cwd} is not inside a git checkout` : `the checkout ${local.top} does not say`;
    const flag = { repo: '--repo', base: '--base', baseCommit: '--base-commit' }[missing[0] as (typeof missing)[number]];
    throw new InputError(`a fan-out needs the project's ${missing.join(', ')}, and ${where}`, fix, { flag, missing });
  }
  return out as FanoutProject;
}
