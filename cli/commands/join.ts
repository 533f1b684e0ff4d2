import type { Command } from 'commander';
import { joinBus } from '../../bus/ops/join.js';
import { collect, intOption, run, withCommon, type CommonOptions } from '../common.js';
import type { NodeConfig } from '../../bus/home.js';
import { emit } from '../output.js';

interface Opts extends CommonOptions {
  node?: string;
  label?: string[];
  runner?: string[];
  parallel?: number;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('join')
      .argument('<url>', 'the bus remote: a path or file:// URL, an SSH remote (host:path or ssh://user@host[:port]/path, host may be an ~/.ssh/config alias) or an https:// URL')
      .description('add this machine to an existing bus as a new node')
      .option('--node <name>', 'this node\'s name (default: the host name)')
      .option('--label <label>', 'a label of this node (repeatable)', collect)
      .option('--runner <runner>', 'a runner this node\'s watcher may use: shell, tmux, claude, icecc (repeatable; none by default)', collect)
      .option('--parallel <n>', 'how many tasks the watcher runs at once (default 1)', intOption('--parallel')),
  ).action(async (url: string, opts: Opts) =>
    run(opts, async (home) => {
      const r = await joinBus(home, url, { ...(opts.node ? { node: opts.node } : {}), labels: opts.label ?? [], ...(opts.runner ? { runners: opts.runner as NodeConfig['runners'] } : {}), ...(opts.parallel !== undefined ? { parallel: opts.parallel } : {}) });
      emit(opts, r, () => `joined ${r.remote} as node ${r.node} (home ${r.home})`);
    }),
  );
}
