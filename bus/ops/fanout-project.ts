import type { BusContext } from '../context.js';
import { InputError } from '../errors.js';
import { absoluteRemoteUrl, nodeProjectUrls } from '../project/remote-url.js';
import { homedir } from '../user-home-dir.js';
import { projectForTask } from '../project/resolve.js';
import { checkedRepo } from '../project/fields.js';
import { readCheckout } from '../project/checkout.js';
import type { FanoutProject } from '../model/fanout.js';

/**
 * Where a fan-out's code comes from, decided as `gitbus dispatch` decides it (bus/project/resolve.ts): `--repo`
 * and `--base`, and for what they leave out, the checkout `gitbus fanout` runs in; the base commit is refused
 * unless the project remote has it, so no workstream waits for code its node cannot fetch. `--base-commit` with
 * `--repo` and `--base` is taken as given (a script that already resolved it).
 */
export interface FanoutProjectFlags {
  repo?: string;
  base?: string;
  baseCommit?: string;
}

export async function fanoutProject(ctx: BusContext, cwd: string, flags: FanoutProjectFlags): Promise<{ project: FanoutProject; warnings: string[] }> {
  if (flags.repo !== undefined && flags.base !== undefined && flags.baseCommit !== undefined) {
    // A project name of node.yaml is written as the name (each node maps it to its own URL); a path is made absolute,
    // and a URL loses its credentials with a warning, as dispatch's --repo does (the bus publishes the handoff).
    const named = Object.hasOwn(ctx.config.projects ?? {}, flags.repo);
    const warnings: string[] = [];
    // A remote of the checkout by its name (`--repo origin`), as dispatch reads it, not a folder "origin" here.
    const remote = named || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(flags.repo) ? undefined : (await readCheckout(cwd))?.remotes.find((r) => r.name === flags.repo);
    const repo = named ? flags.repo : checkedRepo(remote?.url ?? absoluteRemoteUrl(flags.repo, cwd), '--repo', warnings);
    return { project: { repo, base: flags.base, baseCommit: flags.baseCommit }, warnings };
  }
  const projects = nodeProjectUrls(ctx.config.projects, ctx.paths.home, homedir());
  const r = await projectForTask({
    flags: { ...(flags.repo !== undefined ? { repo: flags.repo } : {}), ...(flags.base !== undefined ? { base: flags.base } : {}) },
    implicit: true,
    readCheckout: true,
    cwd,
    projects,
    busRemote: ctx.config.remote,
  });
  if (!r.fields) {
    throw new InputError(`a fan-out needs a project: ${r.notes.join('; ') || 'none was found'}`, 'run gitbus fanout inside a checkout of the project (on the branch to start from, pushed), or give --repo URL (and --base REF)', { flag: '--repo' });
  }
  return { project: { repo: r.fields.repo, base: r.fields.base, baseCommit: r.fields.baseCommit }, warnings: r.warnings };
}
