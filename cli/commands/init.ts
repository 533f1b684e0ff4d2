import type { Command } from 'commander';
import { initBus } from '../../bus/ops/init.js';
import { collect, run, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';

interface Opts extends CommonOptions {
  remote?: string;
  node?: string;
  label?: string[];
  lease?: string;
  name?: string;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('init')
      .description('create a new bus and make this machine its first node')
      .option('--remote <url>', 'shared remote: a path to a bare repo (created if missing) or file:// URL; default: embedded, inside the bus home')
      .option('--node <name>', 'this node\'s name (default: the host name)')
      .option('--label <label>', 'a label of this node (repeatable)', collect)
      .option('--lease <duration>', 'how long a claim survives its node\'s silence, e.g. 5m')
      .option('--name <name>', 'a display name for the bus'),
  ).action(async (opts: Opts) =>
    run(opts, async (home) => {
      const r = await initBus(home, { ...(opts.remote ? { remote: opts.remote } : {}), ...(opts.node ? { node: opts.node } : {}), labels: opts.label ?? [], ...(opts.lease ? { lease: opts.lease } : {}), ...(opts.name ? { name: opts.name } : {}) });
      emit(opts, r, () => `created bus at ${r.remote}${r.embedded ? ' (embedded)' : ''}\nnode ${r.node}, home ${r.home}\nnext: gitbus dispatch "what to do"`);
    }),
  );
}
