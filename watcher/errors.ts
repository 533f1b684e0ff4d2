import { GitbusError } from '../schemas/errors.js';

export class NoRunnersError extends GitbusError {
  readonly code = 'NO_RUNNERS';
  constructor(node: string, home: string) {
    super(
      `node ${node} has no runners enabled, so its watcher would never run anything`,
      `enable them: add "runners: [shell]" to ${home}/node.yaml (running commands from the bus is opt-in)`,
      { node },
    );
  }
}
