import { promisify } from 'node:util';
import { childProcess } from './child-process.js';
import { mayBeInWorkTree } from './project/work-tree-probe.js';

/** The git state of the directory a task is dispatched from, as the seed's tw-handoff records it. */
export interface GitContext {
  root: string;
  branch: string;
  status: string;
  recent: string;
  remote: string | null;
}

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(childProcess().execFile)('git', args, { cwd, timeout: 10_000, maxBuffer: 4 * 1024 * 1024 });
  return stdout.trimEnd();
}

/** Null when `cwd` is not inside a git work tree (or git is missing): the context is a courtesy, never an error. */
export async function gitContext(cwd: string): Promise<GitContext | null> {
  if (!mayBeInWorkTree(cwd)) return null;
  try {
    const root = await git(cwd, ['rev-parse', '--show-toplevel']);
    const [branch, status, recent, remote] = await Promise.all([
      git(cwd, ['branch', '--show-current']).catch(() => ''),
      git(cwd, ['status', '--short']).catch(() => ''),
      git(cwd, ['log', '--oneline', '-5']).catch(() => ''),
      git(cwd, ['remote', 'get-url', 'origin']).catch(() => null),
    ]);
    return { root, branch, status: status.split('\n').slice(0, 20).join('\n'), recent, remote };
  } catch {
    return null;
  }
}
