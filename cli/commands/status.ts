import { budgetLine } from '../../bus/ops/budget-report.js';
import { deliveringText } from '../../bus/ops/heartbeat.js';
import type { Command } from 'commander';
import { busStatus, busStatusJson, type BusStatus } from '../../bus/ops/status.js';
import { jsonWithRaw } from '../json-raw.js';
import { offlineNote, withBus, withCommon, type CommonOptions } from '../common.js';
import { emit, writeOut } from '../output.js';
import { MIN_RUN_BUDGET_USD } from '../../watcher/runners/claude-args.js';
import { ago, problemLine, taskLine } from '../format.js';
import { countsText } from '../../bus/env/states.js';
import type { CardEnv } from '../../schemas/env-drift.js';

/** Tasks listed per state; the rest are counted ("... and N more"). */
const SHOWN_PER_STATE = 50;
const NEWLINE = Buffer.from('\n', 'utf8');
const MAX_WRITES = 32;
const ORDER = ['claimed', 'cancelling', 'pending', 'blocked', 'scheduled', 'invalid', 'unsupported', 'succeeded', 'failed', 'timed-out', 'cancelled'] as const;

export function register(program: Command): void {
  withCommon(program.command('status').description('nodes, tasks by state, and problems in the bus')).action(async (opts: CommonOptions) =>
    withBus(opts, async (ctx) => {
      // A script (--json) gets every task, one a line; a person reads the first tasks of each state.
      if (opts.json) {
        const { status, tasksJson } = await busStatusJson(ctx);
        const pieces = [...jsonWithRaw(status, 'tasks', tasksJson), NEWLINE];
        // A few pieces are written one after the other (a copy of 2.5 MB at 5,000 tasks costs more than a write);
        // the many small ones of a status derived after many changes, copied into one.
        if (pieces.length <= MAX_WRITES) for (const piece of pieces) writeOut(piece);
        else writeOut(Buffer.concat(pieces));
        return;
      }
      const s = await busStatus(ctx, { perState: SHOWN_PER_STATE });
      offlineNote(s.offline);
      emit(opts, s, () => {
        // A home whose node left reads the bus still; it is no node of it until `gitbus join` (bus/left-home.ts).
        const left = s.left ? ` (it left the bus at ${s.left.at}: "gitbus join ${s.left.remote}" brings it back)` : '';
        const lines = [`bus ${s.remote}${s.settings.name ? ` (${s.settings.name})` : ''}, this node: ${s.node}${left}`, '', `nodes (${s.nodes.length}):`];
        for (const n of s.nodes) {
          const c = n.card;
          const live = liveText(n.liveness);
          const beat = beatText(n);
          lines.push(`  ${n.node.padEnd(16)} ${live.padEnd(10)} ${c ? [c.labels?.length ? `[${c.labels.join(',')}]` : '', c.host ? [c.host.os, c.host.arch].filter(Boolean).join('/') : '', c.version ? `v${c.version}` : '', beat, spendText(n.spend)].filter(Boolean).join('  ') : `(unreadable card)${beat ? `  ${beat}` : ''}`}`);
          for (const e of c?.env ?? []) lines.push(`      ${envLine(e)}`);
        }
        if (s.cardless.length) {
          lines.push(`beating with no card on main (${s.cardless.length}): taken off the bus while a watcher ran, or the card was removed`);
          for (const n of s.cardless) lines.push(`  ${n.node.padEnd(16)} ${liveText(n.liveness).padEnd(10)} ${beatText(n)}`.trimEnd());
          lines.push('  stop that watcher and run "gitbus leave --node NAME", or restart that watcher to bring the node back (it publishes its card as it starts)');
        }
        const loose = s.trustNotEnforced;
        if (loose) {
          lines.push(`warning: nodes that do not enforce trust version ${loose.version} and run any handoff, signed or not: ${loose.nodes.map((n) => n.node).join(', ')}`);
          for (const n of loose.nodes) lines.push(`  ${n.node}: ${n.reason}`);
          lines.push(`  fix: ${loose.fix}`);
        }
        lines.push(`push budget: ${budgetLine(s.budget)}`);
        if (s.budget.over) lines.push('  OVER BUDGET: the fleet pushes or reads more than the bus settings allow; the host may throttle it', ...s.budget.advice.map((a) => `  - ${a}`));
        const counts = ORDER.filter((st) => s.counts[st]).map((st) => `${s.counts[st]} ${st}`);
        lines.push('', `tasks: ${counts.length ? counts.join(', ') : 'none'}`);
        const shown = ORDER.flatMap((st) => s.tasks.filter((t) => t.state === st).slice(0, SHOWN_PER_STATE));
        const idWidth = Math.max(0, ...shown.map((t) => t.id.length));
        for (const st of ORDER) {
          const group = s.tasks.filter((t) => t.state === st);
          if (group.length === 0) continue;
          lines.push(`${st}:`);
          for (const t of group.slice(0, SHOWN_PER_STATE)) {
            lines.push(`${taskLine(t, idWidth)}${claudeFacts(t.claude)}`);
            if (t.progress) lines.push(`      progress: ${t.progress.text} (${ago(t.progress.at)})`);
            if (t.delivering && t.claim?.node) lines.push(`      ${deliveringText(t.claim.node, t.delivering)}`);
            if (t.refusedHere) lines.push(`      refused by this node's policy: ${t.refusedHere}`);
            if (t.noTaker) lines.push(`      waits: ${t.noTaker}`);
            if (t.takersDown) lines.push(`      waits: ${t.takersDown}`);
            // Judged for the node it is addressed to, which alone runs it (bus/trust/enforce.ts trustTargetOf).
            if (t.untrusted) lines.push(t.to && t.to !== s.node ? `      untrusted for node ${t.to}, to which it is addressed: ${t.untrusted}` : `      untrusted (this node will not run it): ${t.untrusted}`);
          }
          const total = s.counts[st] ?? group.length;
          if (total > SHOWN_PER_STATE) lines.push(`  ... and ${total - SHOWN_PER_STATE} more (gitbus status --json lists all)`);
        }
        if (s.queued.length) {
          lines.push('', `queued here, not yet on the bus (${s.queued.length}; sent at the next contact):`);
          for (const q of s.queued) lines.push(`  ${q.id}  ${q.kind}${q.title ? `  ${q.title}` : ''}  queued ${ago(q.queuedAt)}`);
        }
        if (s.forged.length) {
          lines.push('', `forged in a node's name, ignored by this node (${s.forged.length}):`);
          for (const f of s.forged) lines.push(`  ${f.path}: ${f.reason}`);
        }
        if (s.problems.length) {
          lines.push('', `problems (${s.problems.length}):`);
          for (const p of s.problems) lines.push(`  ${problemLine(p)}`);
        }
        return lines.join('\n');
      });
    }),
  );
}

function liveText(l: BusStatus['nodes'][number]['liveness']): string {
  return l === 'alive' ? 'live' : l === 'idle' ? 'idle' : l === 'silent' ? 'SILENT' : l === 'stopped' ? 'stopped' : 'no watcher';
}

/** The age is the heartbeat's (what liveness is judged by), not the card's. */
function beatText(n: Pick<BusStatus['nodes'][number], 'liveness' | 'heartbeat'>): string {
  return n.heartbeat ? `${n.liveness === 'stopped' ? 'stopped' : 'beat'} ${ago(n.heartbeat.at)}` : '';
}

/** A node's drift for one environment profile, as its card says (seed 000's health monitor, for the whole fleet). */
function envLine(e: CardEnv): string {
  const drift = e.drift?.length ? `: ${e.drift.map((d) => `${d.target} ${d.state.replace(/-/g, ' ')}`).join(', ')}${e.more ? `, and ${e.more} more` : ''}` : '';
  return `env ${e.profile}${e.apply ? ` (${e.apply})` : ''}: ${e.problem ?? `${countsText(e.counts)}${drift}`}`;
}

/** "claude $1.23 of $20 today" for a node's status line, and when what is left is too little to start a run. */
function spendText(s: BusStatus['nodes'][number]['spend']): string {
  if (!s) return '';
  const usd = (n: number) => `$${Math.round(n * 100) / 100}`;
  if (s.capUsd === null) return `claude ${usd(s.spentUsd)} today`;
  return `claude ${usd(s.spentUsd)} of ${usd(s.capUsd)} today${s.capUsd - s.spentUsd < MIN_RUN_BUDGET_USD ? ' (cap reached: no claude tasks until 00:00 UTC)' : ''}`;
}

/** " (claude: success, 3 turns, $0.0123)" after a claude task that ended. */
function claudeFacts(c: BusStatus['tasks'][number]['claude']): string {
  if (!c) return '';
  const facts = [c.subtype, c.turns !== undefined ? `${c.turns} turn${c.turns === 1 ? '' : 's'}` : undefined, c.costUsd !== undefined ? `$${c.costUsd}` : undefined].filter(Boolean);
  return facts.length ? ` (claude: ${facts.join(', ')})` : '';
}
