import type { Command } from 'commander';
import { runsHere } from '../../watcher/running-record.js';
import { leaveBus } from '../../bus/ops/leave.js';
import { InputError } from '../../bus/errors.js';
import { listOutbox } from '../../watcher/outbox.js';
import { acquireWatcherLock } from '../../watcher/watcher-lock.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';
import { schemaFlag } from '../flags.js';
import { nodeNameSchema } from '../../schemas/fields.js';

interface LeaveFlags extends CommonOptions {
  node?: string;
  release?: boolean;
  force?: boolean;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('leave')
      .description('take a node off the bus: its card and heartbeat go, so status, claims and the push budget no longer count it (this node by default)')
      .option('--node <name>', 'another node to take off the bus (a machine that is gone), once it holds no claims (watchers reclaim them when it has been silent past the lease)', schemaFlag('--node', nodeNameSchema))
      .option('--release', 'this node gives its claimed tasks back to the queue in the same commit (without it, a node holding claims does not leave)')
      .option('--force', 'with --node: take off a node that may still run: one whose heartbeat this home has not watched stand still past the lease by its own clock (its machine is gone, or its watcher will be stopped)')
      .addHelpText(
        'after',
        '\nRun on the node itself, with its watcher stopped ("gitbus service uninstall", or Ctrl-C): the watcher would\n' +
          'beat again. The home (node.yaml, clone, keys, logs) is left as it is, with a note that its node left: a watcher\n' +
          'started there refuses, until "gitbus join URL" brings the node back; remove the home yourself when done. A node\n' +
          'key listed in the trust root stays there until an admin removes it ("gitbus trust remove node NAME").',
      ),
  ).action(async (opts: LeaveFlags) =>
    withBus(opts, async (ctx) => {
      const self = opts.node === undefined || opts.node === ctx.config.node;
      if (self && opts.force) throw new InputError('--force goes with --node NAME (another node); this node leaves only with its watcher stopped', 'leave out --force, or name the node with --node', { flag: '--force' });
      if (!self && opts.release) throw new InputError("--release gives back this node's own claims; another node's are reclaimed by the watchers once it is silent past the lease", 'leave out --release, or run "gitbus leave --release" on that node', { flag: '--release' });
      // This home's own watcher would publish its card and beat again: none may run, or start, while it leaves.
      const lock = self ? acquireWatcherLock(ctx.paths.home) : null;
      try {
        // Results the watcher finished and could not deliver yet: their claims must not be released.
        const undelivered = new Set(self ? listOutbox(ctx.paths.home).map((e) => `${e.id}.${e.attempt}`) : []);
        // Runs a crashed watcher left going (its successor would stop them): their claims stay until they are stopped.
        const going = self ? runsHere(ctx.paths.home) : new Map<string, number>();
        const r = await leaveBus(ctx, { ...(opts.node !== undefined ? { node: opts.node } : {}), ...(opts.release ? { release: true } : {}), ...(opts.force ? { force: true } : {}), undelivered, runsHere: going });
        emit(opts, { ...r, home: self ? ctx.paths.home : null }, () => {
          const lines = [`node ${r.node} left the bus: ${[r.card ? 'its card was removed' : 'it had no card', r.heartbeat ? 'its heartbeat deleted' : 'it had no heartbeat'].join(', ')}`];
          if (r.released.length > 0) lines.push(`released ${r.released.join(', ')}: pending again`);
          if (self) lines.push(`this machine's home ${ctx.paths.home} is left as it is: remove it when done (and "gitbus service uninstall" if a service ran it); its watcher will not start there, and "gitbus join ${ctx.config.remote}" brings the node back`);
          return lines.join('\n');
        });
      } finally {
        lock?.release();
      }
    }),
  );
}
