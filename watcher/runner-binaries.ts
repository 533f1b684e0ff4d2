import type { NodeConfig } from '../bus/home.js';
import type { RunnerName } from '../schemas/fields.js';
import { runnerBinary, whichOn } from './service/service-path.js';

/** A runner enabled in node.yaml whose program this machine does not have. */
export interface MissingRunner {
  runner: RunnerName;
  binary: string;
  fix: string;
}

const FIXES: Partial<Record<RunnerName, string>> = {
  claude: 'install Claude Code ("npm install -g @anthropic-ai/claude-code"), or set claude.binary in node.yaml or $GITBUS_CLAUDE_BIN to where it is; or remove claude from runners in node.yaml',
  tmux: 'install tmux 3.0 or later on this node (Debian/Ubuntu: "apt-get install tmux"); or remove tmux from runners in node.yaml',
  icecc: 'install icecream on this node (Debian/Ubuntu: "apt-get install icecc"); or remove icecc from runners in node.yaml',
};

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
    if (binary !== null && whichOn(binary, env['PATH'] ?? '') === null) out.push({ runner, binary, fix: FIXES[runner] ?? `install "${binary}" on this node, or remove ${runner} from runners in node.yaml` });
  }
  return out;
}
