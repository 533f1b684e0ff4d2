import type { Command } from 'commander';
import { archive } from '../../bus/ops/archive.js';
import { parseDuration } from '../../schemas/duration.js';
import { InputError } from '../../bus/errors.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';

export function register(program: Command): void {
  withCommon(
    program
      .command('archive')
      .description('move finished tasks from main to the archive branch')
      .option('--all', 'every finished task, whatever its age')
      .option('--older-than <duration>', 'finished longer ago than this (default: the bus setting archiveAfter)'),
  ).action(async (opts: CommonOptions & { all?: boolean; olderThan?: string }) =>
    withBus(opts, async (ctx) => {
      let olderThanMs: number | undefined;
      if (opts.olderThan !== undefined) {
        try {
          olderThanMs = parseDuration(opts.olderThan);
        } catch {
          throw new InputError(`--older-than "${opts.olderThan}" is not a duration`, 'write it like 12h or 7d');
        }
      }
      const r = await archive(ctx, { ...(opts.all ? { all: true } : {}), ...(olderThanMs !== undefined ? { olderThanMs } : {}) });
      emit(opts, r, () => (r.archived.length ? `archived ${r.archived.length} task(s)` : 'nothing to archive'));
    }),
  );
}
