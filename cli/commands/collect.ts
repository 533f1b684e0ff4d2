import type { Command } from 'commander';
import { collect, type CollectResult } from '../../claude/collect.js';
import { span, type TaskFact } from '../../claude/hear-back.js';
import { validSession } from '../../claude/session-ledger.js';
import { InputError } from '../../bus/errors.js';
import { offlineNote, withBus, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';

interface Opts extends CommonOptions {
  session?: string;
  node?: boolean;
  all?: boolean;
  peek?: boolean;
}

function endedLines(f: TaskFact): string[] {
  const facts = [f.state, f.node ?? '', f.durationMs !== null ? span(f.durationMs) : ''].filter(Boolean).join('  ');
  const lines = [`  ${f.id}  ${facts}  ${f.title}`];
  if (f.summary) lines.push(`      ${f.summary}`);
  if (f.branch) lines.push(`      branch ${f.branch}${f.notPushed ? ` (${f.notPushed})` : ''}`);
  lines.push(`      gitbus show ${f.id}${f.archived ? ` (archived, ${f.archived})` : ''}`);
  return lines;
}

function text(r: CollectResult): string {
  const whose = r.scope === 'session' ? 'this Claude Code session' : 'this node';
  const lines = r.ended.length ? [`${r.ended.length} task${r.ended.length === 1 ? '' : 's'} ${whose} dispatched ended since the last collect:`] : r.landed.length ? [] : [`nothing new: no task ${whose} dispatched has ended since the last collect`];
  for (const f of r.ended) lines.push(...endedLines(f));
  // Collected before with the branch not pushed yet: the push landed since (a delivery), said once.
  for (const f of r.landed) lines.push(`${f.id}: branch ${f.branch ?? ''} is on the project remote now (pushed after its response went out); gitbus show ${f.id}`);
  if (r.waiting.length) {
    lines.push(`still to end (${r.waiting.length}):`);
    for (const f of r.waiting.slice(0, 20)) lines.push(`  ${f.id}  ${f.state}${f.node ? `  ${f.node}` : ''}  ${f.title}`);
    if (r.waiting.length > 20) lines.push(`  ... and ${r.waiting.length - 20} more (gitbus status)`);
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  withCommon(
    program
      .command('collect')
      .description('the responses that arrived since last time: the tasks this Claude Code session (or, outside one, this node) dispatched that have ended, with status and summary')
      .option('--session <id>', 'a Claude Code session id (default: $CLAUDE_CODE_SESSION_ID, which Claude Code gives the commands it runs)')
      .option('--node', 'every task this node dispatched, whichever session (the default outside Claude Code)')
      .option('--all', 'also the ended tasks collected before')
      .option('--peek', 'show them without marking them collected')
      .addHelpText('after', '\n"Since last time" is per session (what its hooks or an earlier collect already told it), or, with --node, per node\n(the ids already collected, in <home>/claude/collected.json). Tasks that left main are looked up in the archive.'),
  ).action(async (opts: Opts) =>
    withBus(opts, async (ctx) => {
      if (opts.node && opts.session !== undefined) throw new InputError('--node and --session exclude each other', 'give one of them', { flag: '--node' });
      if (opts.session !== undefined && !validSession(opts.session)) throw new InputError(`--session ${JSON.stringify(opts.session)} is not a Claude Code session id`, 'give the session id Claude Code shows (a UUID)', { flag: '--session' });
      const env = process.env['CLAUDE_CODE_SESSION_ID'];
      const session = opts.node ? undefined : (opts.session ?? (validSession(env) ? env : undefined));
      const r = await collect(ctx, { ...(session !== undefined ? { session } : {}), all: Boolean(opts.all), peek: Boolean(opts.peek) });
      if (!opts.json) offlineNote(r.offline);
      emit(opts, r, () => text(r));
    }),
  );
}
