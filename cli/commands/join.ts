import type { Command } from 'commander';
import { joinBus } from '../../bus/ops/join.js';
import { collect, run, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';

interface Opts extends CommonOptions {
  node?: string;
  label?: string[];
}

export function register(program: Command): void {
  withCommon(
    program
      .command('join')
      .argument('<url>', 'the bus remote: a path to its bare repo or a file:// URL')
      .description('add this machine to an existing bus as a new node')
      .option('--node <name>', 'this node\'s name (default: the host name)')
      .option('--label <label>', 'a label of this node (repeatable)', collect),
  ).action(async (url: string, opts: Opts) =>
    run(opts, async (home) => {
      const r = await joinBus(home, url, { ...(opts.node ? { node: opts.node } : {}), labels: opts.label ?? [] });
      emit(opts, r, () => `joined ${r.remote} as node ${r.node} (home ${r.home})`);
    }),
  );
}
