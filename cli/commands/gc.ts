import type { Command } from 'commander';
import { gc, type GcResult } from '../../bus/ops/gc.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import { durationFlag, durationMs } from '../flags.js';
import { bytesText, span } from '../format.js';
import { emit } from '../output.js';

interface Opts extends CommonOptions {
  dryRun?: boolean;
  grace?: string;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('gc')
      .description("prune this node's clone of the bus: the objects of old history and of refs' old tips go, main and what the last commits name stay (a watcher does it at start and hourly)")
      .option('--dry-run', 'count what would go; remove nothing')
      .option('--grace <duration>', 'keep an object nothing kept names until it is this old (default 1h)', durationFlag('--grace'))
      .addHelpText(
        'after',
        "\nThe clone is a cache of the remote: every commit a node fetches leaves its objects there. gc keeps the tips of\nthe clone's refs (main, the archive, heartbeats) with their whole trees, the 64 commits below each and what was\ncommitted within an hour of main's tip; removes the other loose objects older than the grace; and cuts the\nclone's history there (its shallow list). The repository of the archive's tip inside the clone (on a remote\nwithout path reads) keeps its tip whole, and loses the earlier tips it fetched. It works offline and changes\nnothing on the bus.",
      ),
  ).action(async (opts: Opts) =>
    run(opts, async (home) => {
      const graceMs = durationMs(opts.grace);
      const r = await gc(home, { ...(graceMs !== undefined ? { graceMs } : {}), ...(opts.dryRun ? { dryRun: true } : {}) });
      emit(opts, r, () => gcText(r));
    }),
  );
}

function gcText(r: GcResult): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const verb = r.dryRun ? 'would remove' : 'removed';
  const lines = [
    `${r.dryRun ? 'dry run: ' : ''}${r.clone}: ${verb} ${n(r.removed)} of ${n(r.loose)} loose objects (${bytesText(r.removedBytes)}) in ${r.tookMs} ms`,
    `  kept: ${n(r.commits)} commit${r.commits === 1 ? '' : 's'} (${n(r.refs)} ref tip${r.refs === 1 ? '' : 's'} and history below them), naming ${n(r.named)} objects; ${n(r.young)} other${r.young === 1 ? '' : 's'} younger than ${span(r.graceMs)}`,
  ];
  if (r.newBoundaries > 0) lines.push(`  history ${r.dryRun ? 'would end' : 'ends'} at ${n(r.newBoundaries)} more commit${r.newBoundaries === 1 ? '' : 's'} (the clone's shallow list)`);
  if (r.packs > 0) lines.push(`  left as they are: ${n(r.packs)} pack${r.packs === 1 ? '' : 's'}`);
  const tip = r.archiveTip;
  if (tip?.skipped === 'settled') lines.push("  the archive's tip repository: pruned at its tip already");
  else if (tip?.skipped === 'young') lines.push(`  the archive's tip repository: its tip is younger than ${span(r.graceMs)}, pruned later`);
  else if (tip?.skipped === 'damaged') lines.push(`  the archive's tip repository: git cannot read its tip (${tip.reason ?? ''}): ${r.dryRun ? 'it would be removed' : 'removed'}, the next lookup of an archived task fetches the tip again`);
  else if (tip?.skipped === 'failed') lines.push(`  the archive's tip repository: not pruned, the next run tries again: ${tip.reason ?? ''}`);
  else if (tip) {
    lines.push(`  the archive's tip repository: ${verb} ${n(tip.removed)} objects of earlier tips (${bytesText(tip.removedBytes)}), ${bytesText(tip.bytesBefore - tip.removedBytes)} left`);
    if (tip.repacked !== undefined) lines.push(`    its ${n(tip.repacked)} packs merged into one: ${bytesText(tip.bytesAfter)} in all`);
    else if (tip.reason !== undefined) lines.push(`    its packs were left as they are: ${tip.reason}`);
  }
  if (r.leftovers > 0) lines.push(`  also removed: ${n(r.leftovers)} temp file${r.leftovers === 1 ? '' : 's'} of killed processes`);
  return lines.join('\n');
}
