import type { Command } from 'commander';
import { showTask, type ShownBranch, type ShownTask, type ShownTrust } from '../../bus/ops/query.js';
import { offlineNote, withBus, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';
import { handoffVerdictWord, problemLine } from '../format.js';
import type { FileProblem } from '../../schemas/errors.js';
import { notPushedWords } from '../../bus/project/push-state.js';
import { deliveringText } from '../../bus/ops/heartbeat.js';
import { fileLines } from '../show-files.js';

export function register(program: Command): void {
  withCommon(
    program
      .command('show')
      .argument('<id>', 'task id, or a unique prefix or suffix of it')
      .description('the handoff, claims and response of one task')
      .option('--full', 'print every part of every file whole (without it, a long part is cut, and a line says what was cut; --json is never cut)'),
  ).action(async (id: string, opts: CommonOptions & { full?: boolean }) =>
    withBus(opts, async (ctx) => {
      const t = await showTask(ctx, id);
      if (!opts.json) offlineNote(t.offline);
      emit(opts, t, () => [`task ${t.id}: ${t.state}${t.archived ? ` (archived ${t.archived})` : ''}`, ...(t.delivering && t.summary?.claim?.node ? [deliveringText(t.summary.claim.node, t.delivering)] : []), ...trustLines(t.trust), ...problemLines(t.summary?.problems ?? []), ...(t.branch ? branchLines(t.id, t.branch) : []), ...fileLines(t.id, t.files, { full: opts.full === true, note: t.state !== 'queued' }), ...forgedLines(t.forged)].join('\n'));
    }),
  );
}

/** The handoff's trust verdict on a node that pinned the trust root, as verify says it; nothing elsewhere. */
function trustLines(v: ShownTrust | undefined): string[] {
  if (!v) return [];
  return [`trust (version ${v.version}): ${handoffVerdictWord(v)}: ${v.reason}`, ...(v.fix ? [`  fix: ${v.fix}`] : [])];
}

/** What is wrong with the task's files, as lint says it: why an invalid task is invalid, and the fix. */
function problemLines(problems: readonly FileProblem[]): string[] {
  return problems.length === 0 ? [] : [`problems (${problems.length}):`, ...problems.map((p) => `  ${problemLine(p)}`)];
}

/** A project task's branch on two lines: where and in what state, and the command that fetches it (when it is coming). */
function branchLines(id: string, b: ShownBranch): string[] {
  const r = b.report;
  const facts = r ? `${r.commits ?? 0} commit${r.commits === 1 ? '' : 's'}, ${r.files ?? 0} file${r.files === 1 ? '' : 's'}, +${r.insertions ?? 0} -${r.deletions ?? 0}, ` : '';
  const missing = b.pushed === false ? notPushedWords(id, r ?? {}) : null;
  const later = b.delivered ? ` after its response went out (${b.delivered.path}, ${b.delivered.at})` : '';
  const state = b.pushed === null ? 'results go here when it ends' : missing ? `${facts}${missing.text}` : `${facts}pushed${later}`;
  return [`branch ${b.branch} of ${b.repo} (${state})`, ...(b.warnings ?? []).map((w) => `  warning: ${w}`), ...(missing?.fetchable === false ? [] : [`  fetch: ${b.fetch}`])];
}

/** Files of the task this node ignores as forged in a node's name: named, with why, never shown as the task's. */
function forgedLines(forged: ShownTask['forged']): string[] {
  if (forged.length === 0) return [];
  return ['', `ignored, forged in a node's name (${forged.length}):`, ...forged.map((f) => `  ${f.path}: ${f.reason}\n    fix: ${f.fix}`)];
}
