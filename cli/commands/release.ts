import type { Command } from 'commander';
import { release } from '../../bus/ops/release.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';
import { schemaFlag } from '../flags.js';
import { reasonSchema } from '../../schemas/fields.js';
import { runsHere } from '../../watcher/running-record.js';

export function register(program: Command): void {
  withCommon(program.command('release').argument('<id>', 'a task this node holds').option('--reason <text>', 'why it is given back', schemaFlag('--reason', reasonSchema)).description('give a claimed task back to the queue')).action(
    async (id: string, opts: CommonOptions & { reason?: string }) =>
      withBus(opts, async (ctx) => {
        const r = await release(ctx, id, opts.reason, undefined, { runsHere: (claim) => runsHere(ctx.paths.home).get(claim) });
        emit(opts, r, () =>
          r.becomes === 'failed'
            ? `released ${r.id} (attempt ${r.attempt}); it fails: its attempts are used up (${r.attempt} of ${r.maxAttempts}), so no node may claim it again (the first watcher to look writes its failed response)`
            : `released ${r.id} (attempt ${r.attempt}); it is pending again`,
        );
      }),
  );
}
