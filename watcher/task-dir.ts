import { existsSync, mkdirSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * The directory a task runs in: the node's work root, or the handoff's workdir inside it. A workdir whose first
 * part names one of the node's other roots (`workRoots` in node.yaml: `src/gitbus` with a root `src`) runs under
 * that root instead. The schema already refuses absolute paths and "..", and this checks again on the resolved
 * path, because the value comes from the shared repository. Returns a reason when the task cannot run here.
 */
export function taskDir(workRoot: string, workdir: string | undefined, named: ReadonlyMap<string, string> = new Map()): { cwd: string } | { reason: string } {
  const first = workdir?.split('/')[0] ?? '';
  const namedRoot = named.get(first);
  if (workdir !== undefined && namedRoot !== undefined) {
    // Named roots are the person's own folders: gitbus never creates them.
    if (!existsSync(namedRoot) || !statSync(namedRoot).isDirectory()) return { reason: `work root "${first}" (${namedRoot}) does not exist on this node` };
    return inside(namedRoot, workdir.slice(first.length).replace(/^\/+/, ''), workdir, `work root "${first}"`);
  }
  mkdirSync(workRoot, { recursive: true });
  if (!workdir) return { cwd: workRoot };
  return inside(workRoot, workdir, workdir, 'work root');
}

function inside(root: string, rest: string, workdir: string, what: string): { cwd: string } | { reason: string } {
  const cwd = resolve(root, rest);
  const rel = relative(root, cwd);
  // ".." as a component leaves the root; a name that merely starts with dots ("..foo") is inside it.
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return { reason: `workdir "${workdir}" is outside this node's ${what} ${root}` };
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) return { reason: `workdir "${workdir}" does not exist on this node (under ${root})` };
  return { cwd };
}
