import type { NodeConfig } from '../bus/home.js';
import type { RunnerName } from '../schemas/field-limits.js';
import { runnerBinary, whichOn } from './service/service-path.js';

/** A runner enabled in node.yaml whose program this machine does not have. */
export interface MissingRunner {
  runner: RunnerName;
  binary: string;
  fix: string;
}

/** How to install each runner's program; `gitbus doctor`'s runner checks give the same (watcher/doctor-runners.ts). */
export const TMUX_FIX = 'install tmux 3.0 or later on this node (Debian/Ubuntu: "apt-get install tmux"; Fedora: "dnf install tmux"; macOS: "brew install tmux")';
export const CLAUDE_FIX = 'install Claude Code ("npm install -g @anthropic-ai/claude-code"), or set claude.binary in node.yaml or $GITBUS_CLAUDE_BIN to where it is';
export const ICECC_FIX = 'install icecream on this node (Debian/Ubuntu: "apt-get install icecc"; Fedora/Arch/openSUSE: the "icecream" package; macOS: "brew install icecream")';
const INSTALL_FIX: Partial<Record<RunnerName, string>> = { claude: CLAUDE_FIX, tmux: TMUX_FIX, icecc: ICECC_FIX };

/**
 * The enabled runners whose program is not on this machine (found as execvp finds it, from this process's PATH; no
 * process started). A watcher does not claim for them: a node that took every claude task of a fleet and failed
 * each one because claude is not installed would be a black hole for that work, while a node that leaves them is
 * only one node fewer.
 */
export function missingRunners(runners: readonly RunnerName[], config: NodeConfig, env: NodeJS.ProcessEnv = process.env): MissingRunner[] {
  const out: MissingRunner[] = [];
  for (const runner of runners) {
    const binary = runnerBinary(runner, config, env);
    if (binary !== null && whichOn(binary, env['PATH'] ?? '') === null) out.push({ runner, binary, fix: `${INSTALL_FIX[runner] ?? `install "${binary}" on this node`}; or remove ${runner} from runners in node.yaml` });
  }
  return out;
}
