import type { Command } from 'commander';
import { readInventory, type MovedAside, type WorktreeRow } from '../../watcher/workspace/inventory.js';
import { shellWord } from '../../bus/project/shell-word.js';
import { pruneLogPath, pruneWorktrees, type PruneResult } from '../../watcher/workspace/prune.js';
import { offlineNote, withBus, withCommon, type CommonOptions } from '../common.js';
import { EXIT } from '../exit-codes.js';
import { emit } from '../output.js';
import { ago } from '../format.js';

interface PruneOpts extends CommonOptions {
  dryRun?: boolean;
}

const short = (c: string | null) => (c ? c.slice(0, 10) : '-');

function rowText(w: WorktreeRow): string {
  const tasks = w.tasks.map((t) => `${t.id} ${t.state}${t.archived ? ' (archived)' : ''}`).join(', ');
  const pushed = w.unpushed === null ? 'unknown' : w.unpushed === 0 ? 'on the remote' : `${w.unpushed} commit(s) not pushed`;
  const lines = [
    `${w.key}  ${w.branch}  ${w.repo}${w.exists ? '' : w.lost ? '  (not a worktree any more)' : '  (folder gone)'}`,
    `    path: ${w.path}`,
    `    tasks: ${tasks || 'none'}${w.resumers.length ? `; to run here: ${w.resumers.map((t) => `${t.id} ${t.state}`).join(', ')}` : ''}`,
    `    head: ${short(w.head)} (${pushed}); uncommitted: ${w.uncommitted ?? 'unknown'}${w.session ? `; session: ${w.session}` : ''}; updated ${ago(w.updated)}`,
  ];
  if (w.landedPush) lines.push('    branch: pushed; the bus is not told yet (the watcher publishes its delivery)');
  if (w.prunable) lines.push('    prunable');
  else for (const b of w.blockers) lines.push(`    kept: ${b.reason}${b.overridable ? ' (naming it prunes it anyway)' : ''}`);
  return lines.join('\n');
}

function asideText(m: MovedAside): string {
  return `moved aside ${ago(m.movedAt)}: ${m.path}\n    a folder a task's start found in the way of its worktree, without a record; gitbus keeps it as it was: look at it, then remove it (rm -rf ${shellWord(m.path)})`;
}

function pruneText(r: PruneResult, home: string): string {
  const verb = r.dryRun ? 'would remove' : 'removed';
  const lines = r.removed.map((p) => `${verb} ${p.key} (${p.branch} at ${short(p.head)}): ${p.reason}`);
  for (const k of r.kept) {
    lines.push(`kept ${k.key}:`);
    for (const b of k.blockers.filter((b) => !(k.named && b.overridable))) lines.push(`  ${b.reason}\n    fix: ${b.fix}`);
  }
  if (r.removed.length === 0 && r.kept.length === 0) lines.push('no worktrees on this node');
  else if (r.removed.length === 0) lines.push('nothing removed');
  if (r.removed.length > 0 && !r.dryRun) lines.push(`logged in ${pruneLogPath(home)}`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const worktrees = withCommon(
    program
      .command('worktrees')
      .description("this node's project worktrees: their tasks on the bus, claude session, pushed and unpushed commits, uncommitted files, and whether they may be pruned")
      .addHelpText('after', '\n"Unpushed" is measured against the project remote as last fetched; "gitbus worktrees prune" fetches first.'),
  ).action(async (opts: CommonOptions) =>
    withBus(opts, async (ctx) => {
      const { inventory } = await readInventory(ctx);
      if (!opts.json) offlineNote(inventory.offline);
      emit(opts, inventory, () => [inventory.worktrees.length ? inventory.worktrees.map(rowText).join('\n') : `no worktrees on node ${inventory.node}`, ...inventory.movedAside.map(asideText)].join('\n'));
    }),
  );

  withCommon(
    worktrees
      .command('prune')
      .argument('[keys...]', 'worktrees to remove even though they hold a claude session, their tasks are not archived yet, an archived task\'s end is unknown (invalid), or a run left commits on another local branch (the branch stays in the clone)')
      .description('remove worktrees whose work is safe on the project remote: without KEYs those whose tasks ended and are archived and that hold no claude session; never one with unpushed commits, uncommitted files or a task that may still run there')
      .option('--dry-run', 'say what would be removed, remove nothing'),
  ).action(async (keys: string[], own: PruneOpts) => {
    // Commander gives --json and --home to the parent command when both define them: read both.
    const opts: PruneOpts = { ...worktrees.opts<CommonOptions>(), ...own };
    await withBus(opts, async (ctx) => {
      const r = await pruneWorktrees(ctx, keys, Boolean(opts.dryRun));
      emit(opts, r, () => pruneText(r, ctx.paths.home));
      // A worktree the person named and gitbus kept: said by the exit code too.
      if (r.kept.some((k) => k.named)) process.exitCode = EXIT.conflict;
    });
  });
  worktrees.commands.forEach((c) => c.exitOverride());
}
