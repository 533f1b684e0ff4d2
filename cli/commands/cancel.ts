import type { Command } from 'commander';
import { cancel } from '../../bus/ops/cancel.js';
import { cancelGroup } from '../../bus/ops/cancel-group.js';
import { InputError } from '../../bus/errors.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';
import { signerFor, withUnsignedFlag } from '../signing.js';
import { schemaFlag } from '../flags.js';
import { reasonSchema } from '../../schemas/fields.js';
import { groupNameSchema } from '../../schemas/project-schema.js';

type Opts = CommonOptions & { reason?: string; unsigned?: boolean; group?: string };

/**
 * How many were cancelled at once and how many are being cancelled (their nodes stop the work and report), apart:
 * a running task is not cancelled until its node says so. Pure.
 */
export function cancelCounts(tasks: readonly { changed: boolean; state: string }[]): string {
  const changed = tasks.filter((t) => t.changed);
  const stopping = changed.filter((t) => t.state === 'cancelling').length;
  const done = changed.length - stopping;
  return `${done} of ${tasks.length} task(s) cancelled${stopping ? `, ${stopping} being cancelled (${stopping === 1 ? 'its node stops the work' : 'their nodes stop the work'} and report${stopping === 1 ? 's' : ''})` : ''}`;
}

export function register(program: Command): void {
  withCommon(
    withUnsignedFlag(
      program
        .command('cancel')
        .argument('[id]', 'task id, or a unique prefix or suffix of it')
        .option('--group <name>', 'cancel every task of this fan-out group that has not ended (workstreams, integration, follow-ups), in one commit', schemaFlag('--group', groupNameSchema))
        .option('--reason <text>', 'why', schemaFlag('--reason', reasonSchema))
        .description('cancel a task: at once if nobody runs it, else its node stops it; --group NAME: every task of a fan-out')
        .addHelpText(
          'after',
          '\nA task already cancelled, or being cancelled (cancelling), is left as it is: nothing is written, exit 0,\n"already cancelled" (changed: false in --json), so a script may retry a cancel. A task that ended otherwise\n(succeeded, failed, timed-out), live or archived, cannot be cancelled: TASK_STATE, exit 5, with its state.',
        ),
    ),
  ).action(async (id: string | undefined, opts: Opts) =>
    withBus(opts, async (ctx) => {
      if ((id === undefined) === (opts.group === undefined)) throw new InputError('give a task id or --group NAME (not both)', 'run "gitbus cancel ID" or "gitbus cancel --group NAME"', { flag: '--group' });
      if (opts.group !== undefined) {
        const g = await cancelGroup(ctx, opts.group, opts.reason, undefined, await signerFor(ctx, opts));
        emit(opts, g, () => {
          const lines = g.tasks.map((t) => `${t.id}: ${t.changed ? t.state : `already ${t.state}`}${t.state === 'cancelling' && t.changed ? ' (its node stops the work and reports)' : ''}`);
          return `group ${g.group}: ${cancelCounts(g.tasks)}\n${lines.join('\n')}`;
        });
        return;
      }
      const r = await cancel(ctx, id as string, opts.reason, undefined, await signerFor(ctx, opts));
      if (r.queued) {
        emit(opts, r, () => `${r.id}: cancel queued on this node: the remote cannot be reached (${r.queued?.reason}); it is sent at the next contact (any gitbus command, or the watcher)`);
        return;
      }
      if (r.dequeued) {
        emit(opts, r, () => `${r.id}: cancelled (it was still queued on this node, and will never be sent)`);
        return;
      }
      emit(opts, r, () => (r.changed ? `${r.id}: ${r.state}${r.state === 'cancelling' ? ' (its node stops the work and reports)' : ''}` : `${r.id}: already ${r.state}; nothing to do`));
    }),
  );
}
