import { existsSync, statSync } from 'node:fs';
import { homedir } from '../user-home-dir.js';
import { join, resolve } from 'node:path';
import type { NodeConfig } from '../home.js';
import { git, lastLines, ProjectGitError } from '../project/git.js';
import { nodeRemoteUrl } from '../project/remote-url.js';
import { shellWord } from '../project/shell-word.js';
import { fail, ok, warn, type Check } from './doctor-check.js';

/** How long one project remote may take to list its branches before doctor calls it unreachable. */
const LIST_MS = 20_000;

/**
 * The projects of node.yaml (project work, docs/PROTOCOL.md §3a): each remote answers a branch listing with this
 * node's credentials, as a task's fetch and push will need, and the checkout that `include` copies from exists.
 */
export async function checkProjects(home: string, config: NodeConfig): Promise<Check[]> {
  const projects = Object.entries(config.projects ?? {});
  return Promise.all(
    projects.map(async ([name, p]): Promise<Check> => {
      const check = `project.${name}`;
      const url = nodeRemoteUrl(p.url, home, homedir());
      const checkout = p.checkout === undefined ? undefined : resolve(home, p.checkout.startsWith('~/') ? join(homedir(), p.checkout.slice(2)) : p.checkout);
      try {
        const listed = await git(['ls-remote', '--heads', url], { timeoutMs: LIST_MS });
        const heads = listed.stdout.split('\n').filter(Boolean).length;
        if (checkout !== undefined && !(existsSync(checkout) && statSync(checkout).isDirectory())) {
          return warn(check, `${url} answers (${heads} branches), but the checkout ${checkout} does not exist`, `correct projects.${name}.checkout in node.yaml, or clone the project there: its ignored files (include) cannot be copied into worktrees`);
        }
        return ok(check, `${url} answers (${heads} branch${heads === 1 ? '' : 'es'})${checkout ? `; files copied from ${checkout}` : ''}`);
      } catch (err) {
        const why = err instanceof ProjectGitError ? lastLines(err.stderr, 2) || 'no answer' : (err as Error).message;
        return fail(check, `${url} cannot be listed with this node's credentials: ${why}`, `check that "git ls-remote ${shellWord(url)}" works as this user (SSH key or credential helper), or correct projects.${name}.url in node.yaml: project tasks for ${name} fail here`);
      }
    }),
  );
}
