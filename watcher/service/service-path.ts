import { accessSync, constants, statSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import type { NodeConfig } from '../../bus/home.js';
import type { RunnerName } from '../../schemas/field-limits.js';
import { claudeBinary } from '../runners/claude-args.js';

/**
 * The PATH a service runs with. A service manager starts the watcher with a bare environment (systemd: its own
 * short PATH; launchd: /usr/bin:/bin:/usr/sbin:/sbin), so a runner the installing user's shell finds in
 * ~/.local/bin, /opt/homebrew/bin or an nvm/volta folder would be missing under the service. The service
 * therefore gets the installing process's PATH, plus the folder of each enabled runner's binary.
 */

/** Folders every Unix has, added last so that a service installed from a stripped environment still finds sh. */
const SYSTEM_DIRS = ['/usr/local/bin', '/usr/bin', '/bin'];

/** The program each runner needs; null for runners that run nothing (manual). */
export function runnerBinary(runner: RunnerName, config: NodeConfig, env: NodeJS.ProcessEnv): string | null {
  switch (runner) {
    case 'shell':
      return 'sh';
    case 'tmux':
      return 'tmux';
    case 'icecc':
      return 'icecc';
    case 'claude':
      return claudeBinary(config.claude, env);
    default:
      return null;
  }
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Where `binary` is found on `path`, as execvp would find it; an absolute or relative path is checked as given. */
export function whichOn(binary: string, path: string): string | null {
  if (binary.includes('/')) return executable(binary) ? binary : null;
  for (const dir of path.split(':')) {
    if (!isAbsolute(dir)) continue;
    const file = `${dir.replace(/\/+$/, '')}/${binary}`;
    if (executable(file)) return file;
  }
  return null;
}

// eslint-disable-next-line no-control-regex
const UNWRITABLE = /[\u0000-\u001f\u007f]|\s$/;

/** The absolute, writable, distinct folders of a PATH, in order: relative ones ('', '.') would depend on the service's working directory. */
export function pathDirs(path: string | undefined): string[] {
  const out: string[] = [];
  for (const dir of (path ?? '').split(':')) if (isAbsolute(dir) && !UNWRITABLE.test(dir) && !out.includes(dir)) out.push(dir);
  return out;
}

export interface ResolvedRunner {
  runner: RunnerName;
  binary: string;
  /** Where the installing environment finds it; null when it does not. */
  found: string | null;
}

export interface ServicePathPlan {
  path: string;
  runners: ResolvedRunner[];
}

/**
 * The service's PATH: the node binary's folder (scripts run by `#!/usr/bin/env node` get the same node), the
 * installing PATH in its order, the folder of every enabled runner's binary that is not on it yet (an absolute
 * claude.binary), then the system folders.
 */
export function planServicePath(nodePath: string, config: NodeConfig, env: NodeJS.ProcessEnv): ServicePathPlan {
  const dirs = pathDirs(dirname(nodePath));
  for (const d of pathDirs(env['PATH'])) if (!dirs.includes(d)) dirs.push(d);
  const runners: ResolvedRunner[] = [];
  for (const runner of config.runners) {
    const binary = runnerBinary(runner, config, env);
    if (binary === null) continue;
    const found = whichOn(binary, env['PATH'] ?? '');
    runners.push({ runner, binary, found });
    if (found && isAbsolute(found)) for (const d of pathDirs(dirname(found))) if (!dirs.includes(d)) dirs.push(d);
  }
  for (const d of SYSTEM_DIRS) if (!dirs.includes(d)) dirs.push(d);
  return { path: dirs.join(':'), runners };
}
