import type { BusContext } from '../context.js';
import { InputError } from '../errors.js';
import { absoluteRemoteUrl, nodeProjectUrls, publishableRepo } from '../project/remote-url.js';
import { lsRemote, type RemoteListing } from '../project/ls-remote.js';
import { ProjectRemoteError } from '../project/base-errors.js';
import { homedir } from '../user-home-dir.js';
import { projectForTask } from '../project/resolve.js';
import { checkedRepo, refuseOtherHostFileUrl } from '../project/fields.js';
import { readCheckout } from '../project/checkout.js';
import type { FanoutProject } from '../model/fanout.js';

/**
 * Where a fan-out's code comes from, decided as `gitbus dispatch` decides it (bus/project/resolve.ts): `--repo`
 * and `--base`, and for what they leave out, the checkout `gitbus fanout` runs in; the base commit is refused
 * unless the project remote has it, so no workstream waits for code its node cannot fetch. `--base-commit` with
 * `--repo` and `--base` is taken as given (a script that already resolved it). The same listing of the remote
 * gives its branches, which the fan-out's names must not meet (bus/ops/fanout.ts).
 */
export interface FanoutProjectFlags {
  repo?: string;
  base?: string;
  baseCommit?: string;
}

export interface FanoutProjectOutcome {
  project: FanoutProject;
  warnings: string[];
  /** The project remote's branches (`refs/heads/` left out), for the fan-out's own names; null: it could not be asked. */
  branches: string[] | null;
}

export async function fanoutProject(ctx: BusContext, cwd: string, flags: FanoutProjectFlags): Promise<FanoutProjectOutcome> {
  const projects = nodeProjectUrls(ctx.config.projects, ctx.paths.home, homedir());
  if (flags.repo !== undefined && flags.base !== undefined && flags.baseCommit !== undefined) {
    // A project name of node.yaml is written as the name (each node maps it to its own URL); a path is made absolute,
    // and a URL loses its credentials with a warning, as dispatch's --repo does (the bus publishes the handoff).
    const named = Object.hasOwn(ctx.config.projects ?? {}, flags.repo);
    const warnings: string[] = [];
    // A remote of the checkout by its name (`--repo origin`), as dispatch reads it, not a folder "origin" here.
    const remote = named || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(flags.repo) ? undefined : (await readCheckout(cwd))?.remotes.find((r) => r.name === flags.repo);
    const url = named ? (projects[flags.repo] ?? flags.repo) : (remote?.url ?? absoluteRemoteUrl(flags.repo, cwd));
    if (named) refuseOtherHostFileUrl(url);
    const repo = named ? flags.repo : checkedRepo(url, '--repo', warnings);
    // The base is taken as given, but the group's branches are still asked for: they are not the script's to know.
    const branches = await listBranches(url, publishableRepo(url).repo, warnings);
    return { project: { repo, base: flags.base, baseCommit: flags.baseCommit }, warnings, branches };
  }
  const r = await projectForTask({
    flags: { ...(flags.repo !== undefined ? { repo: flags.repo } : {}), ...(flags.base !== undefined ? { base: flags.base } : {}) },
    implicit: true,
    readCheckout: true,
    cwd,
    projects,
    busRemote: ctx.config.remote,
    by: 'fanout',
    // The group's branches are asked of the remote even when the checkout's tracking refs vouch for the base.
    needsListing: true,
  });
  if (!r.fields) {
    throw new InputError(`a fan-out needs a project: ${r.notes.join('; ') || 'none was found'}`, 'run gitbus fanout inside a checkout of the project (on the branch to start from, pushed), or give --repo URL (and --base REF)', { flag: '--repo' });
  }
  const warnings = [...r.warnings];
  const branches = r.listing ? branchesOf(r.listing) : null;
  if (!branches) warnings.push(UNCHECKED);
  return { project: { repo: r.fields.repo, base: r.fields.base, baseCommit: r.fields.baseCommit }, warnings, branches };
}

const UNCHECKED = 'could not ask the project remote whether an earlier fan-out left branches under this group name (its workstreams would build on them)';

function branchesOf(listing: RemoteListing): string[] {
  return [...listing.refs.keys()].filter((r) => r.startsWith('refs/heads/')).map((r) => r.slice('refs/heads/'.length));
}

async function listBranches(url: string, shown: string, warnings: string[]): Promise<string[] | null> {
  try {
    return branchesOf(await lsRemote(url, 'fanout', undefined, shown, 'branches-and-tags'));
  } catch (err) {
    if (!(err instanceof ProjectRemoteError)) throw err;
    warnings.push(`${UNCHECKED} (${String(err.data['message'] ?? '')})`);
    return null;
  }
}
