import { existsSync, mkdirSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';

/**
 * The directory a task runs in: the node's work root, or the handoff's workdir inside it. The schema already
 * refuses absolute paths and "..", and this checks again on the resolved path, because the value comes from
 * the shared repository. Returns a reason when the task cannot run here.
 */
export function taskDir(workRoot: string, workdir: string | undefined): { cwd: string } | { reason: string } {
  mkdirSync(workRoot, { recursive: true });
  if (!workdir) return { cwd: workRoot };
  const cwd = resolve(workRoot, workdir);
  const rel = relative(workRoot, cwd);
  if (rel.startsWith('..') || isAbsolute(rel)) return { reason: `workdir "${workdir}" is outside this node's work root ${workRoot}` };
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) return { reason: `workdir "${workdir}" does not exist on this node (under ${workRoot})` };
  return { cwd };
}
