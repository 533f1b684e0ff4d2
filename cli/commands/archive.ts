import type { Command } from 'commander';
import { durationFlag, durationMs } from '../flags.js';
import { archive } from '../../bus/ops/archive.js';
import { reindexArchive } from '../../bus/ops/archive-reindex.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';

export function register(program: Command): void {
  withCommon(
    program
      .command('archive')
      .description('move finished tasks from main to the archive branch')
      .option('--all', 'every finished task, whatever its age')
      .option('--older-than <duration>', 'finished longer ago than this (default: the bus setting archiveAfter)', durationFlag('--older-than'))
      .option('--reindex', 'add the id index to tasks archived by an older gitbus, and repair index entries that do not hold their task (archives nothing)'),
  ).action(async (opts: CommonOptions & { all?: boolean; olderThan?: string; reindex?: boolean }) =>
    withBus(opts, async (ctx) => {
      if (opts.reindex) {
        const r = await reindexArchive(ctx);
        emit(opts, r, () => (r.commit ? `indexed ${r.indexed} archived task(s)${r.repaired ? `, repaired ${r.repaired} index entr${r.repaired === 1 ? 'y' : 'ies'}` : ''}` : 'the archive index is complete'));
        return;
      }
      const olderThanMs = durationMs(opts.olderThan);
      const r = await archive(ctx, { ...(opts.all ? { all: true } : {}), ...(olderThanMs !== undefined ? { olderThanMs } : {}) });
      const skipped = r.skipped.map((s) => `\nskipped ${s.id}: ${s.path} (${s.field}): ${s.reason}\n  fix: ${s.fix}`).join('');
      const kept = r.kept.length ? `\nkept on main for the next archive: ${r.kept.join(', ')} (a file of theirs came while they were archived)` : '';
      emit(opts, r, () => `${r.archived.length ? `archived ${r.archived.length} task(s)` : r.kept.length ? 'archived none' : 'nothing to archive'}${kept}${skipped}`);
    }),
  );
}
