import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * Whether asking git for the work tree around `dir` can find one: false when neither `dir` nor any folder above
 * it holds a `.git` (folder or file) and git is not pointed elsewhere by GIT_DIR or GIT_WORK_TREE. git's own
 * discovery looks for exactly that entry (its ceiling and file-system limits only find less), so a false here is
 * git's answer without starting git: dispatch outside a project spawns no `git rev-parse` (issue 14, start-up).
 * True means "ask git", which decides as it always did.
 */
export function mayBeInWorkTree(dir: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['GIT_DIR'] !== undefined || env['GIT_WORK_TREE'] !== undefined) return true;
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return true;
    if (dirname(d) === d) return false;
  }
}
