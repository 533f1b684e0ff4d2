import type { Command } from 'commander';
import { cancel } from '../../bus/ops/cancel.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';
import { signerFor, withUnsignedFlag } from '../signing.js';
import { schemaFlag } from '../flags.js';
import { reasonSchema } from '../../schemas/fields.js';

export function register(program: Command): void {
  withCommon(withUnsignedFlag(program.command('cancel').argument('<id>', 'task id, or a unique prefix or suffix of it').option('--reason <text>', 'why', schemaFlag('--reason', reasonSchema)).description('cancel a task: at once if nobody runs it, else its node stops it'))).action(
    async (id: string, opts: CommonOptions & { reason?: string; unsigned?: boolean }) =>
      withBus(opts, async (ctx) => {
        const r = await cancel(ctx, id, opts.reason, undefined, await signerFor(ctx, opts));
        if (r.queued) {
          emit(opts, r, () => `${r.id}: cancel queued on this node: the remote cannot be reached (${r.queued?.reason}); it is sent at the next contact (any gitbus command, or the watcher)`);
          return;
        }
        if (r.dequeued) {
          emit(opts, r, () => `${r.id}: cancelled (it was still queued on this node, and will never be sent)`);
          return;
        }
        emit(opts, r, () => (r.changed ? `${r.id}: ${r.state}${r.state === 'cancelling' ? ' (its node stops the work and reports)' : ''}` : `${r.id}: already ${r.state}`));
      }),
  );
}
