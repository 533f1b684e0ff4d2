import type { NodeConfig } from '../bus/home.js';
import { missingRunners, type MissingRunner } from '../watcher/runner-binaries.js';
import { note } from './output.js';

/**
 * `init` and `join` with `--runner` (or a node joining again with its node.yaml, `config`): the runners whose program is not on PATH, looked up as the watcher does at its
 * start (watcher/runner-binaries.ts), each said on stderr with its fix. They stay in node.yaml and are left off the
 * node's card, so that no task is addressed here for them before the watcher finds them.
 */
export function unavailableRunners(runners: NodeConfig['runners'], json: boolean | undefined, config: NodeConfig = { node: 'node', remote: '', labels: [], runners, parallel: 1 }): MissingRunner[] {
  const missing = missingRunners(runners, config);
  if (!json) for (const m of missing) note(`gitbus: warning: runner ${m.runner} left off this node's card: "${m.binary}" is not on PATH, so no ${m.runner} task is addressed here until its watcher finds it\n  fix: ${m.fix}`);
  return missing;
}
