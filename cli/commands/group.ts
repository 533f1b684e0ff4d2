import type { Command } from 'commander';
import { groupView, type GroupTask, type GroupView, type IncompleteResolve } from '../../bus/ops/group.js';
import { fetchCommand } from '../../bus/project/fetch-command.js';
import { pushedNothing, unfinishedResolve } from '../../schemas/project.js';
import { groupNameSchema } from '../../schemas/project-schema.js';
import { offlineNote, withBus, withCommon, type CommonOptions } from '../common.js';
import { schemaFlag } from '../flags.js';
import { emit } from '../output.js';

function changes(t: GroupTask): string {
  const p = t.project;
  if (!p) return t.waitingFor.length ? `waiting for ${t.waitingFor.length} task${t.waitingFor.length === 1 ? '' : 's'}` : '';
  const parts: string[] = [];
  if (p.commits !== undefined) parts.push(`${p.commits} commit${p.commits === 1 ? '' : 's'}`);
  if (p.files !== undefined) parts.push(`${p.files} file${p.files === 1 ? '' : 's'} +${p.insertions ?? 0} -${p.deletions ?? 0}`);
  if (p.merged) parts.push(`merged ${p.merged.length}`);
  parts.push(p.pushed ? 'pushed' : pushedNothing(p) ? `nothing pushed (${unfinishedResolve(p) ? 'the resolve did not succeed' : 'no commit over the base'})` : `NOT pushed${p.pushError ? ` (${p.pushError})` : ''}`);
  return parts.join(', ');
}

function table(rows: GroupTask[], name: (t: GroupTask) => string): string[] {
  const cells = rows.map((t) => [
    name(t),
    t.id,
    t.state + (t.archived ? ` (archived ${t.archived})` : ''),
    t.node ?? '-',
    t.attempt === null ? '-' : String(t.attempt),
    t.session ?? '-',
    t.costUsd === null ? '-' : `$${t.costUsd.toFixed(2)}`,
    t.branch ?? '-',
    changes(t),
  ]);
  const head = ['WORKSTREAM', 'ID', 'STATE', 'NODE', 'ATT', 'SESSION', 'COST', 'BRANCH', 'CHANGES'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => `  ${c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd();
  return [line(head), ...cells.map(line)];
}

/**
 * Where a task's branch is fetched from: its own remote (a project name as the URL its response gives), else the
 * group's repo. Neither happens for a task with a branch (a merge or resolve task has a repo), but a checkout's
 * remote is most often `origin`, so a person reading it knows what to put in its place. Pure.
 */
function remoteOf(t: GroupTask, g: GroupView): string {
  return t.remote ?? g.repo ?? 'origin';
}

/**
 * A follow-up that ended without merging every workstream. One that made no commit over its base, or did not succeed,
 * pushed nothing on purpose, and nothing is coming (as `show` says it): not "left", which reads as a push still to
 * land. Pure.
 */
function incompleteLine(x: IncompleteResolve, t: GroupTask | undefined): string {
  const branch = x.branch ?? 'the branch';
  const without = x.missing.join(', ');
  const why = t?.project && unfinishedResolve(t.project) ? 'did not succeed' : 'made no commit over its base';
  if (x.pushedNothing) return `resolve ${x.id} ${why}, so nothing was pushed and nothing is coming (${branch} lacks ${without}): not resolved`;
  return `resolve ${x.id} ${x.pushed ? 'pushed' : 'left (not pushed)'} ${branch} without ${without}: not resolved`;
}

/**
 * Workstreams a resume moved, or may move, after the group was integrated or resolved: what the integration's branch
 * lacks, and the merge that brings it in. Pure.
 */
function movedLines(g: GroupView): string[] {
  if (g.movedSince.length === 0) return [];
  const id = g.integration?.id ?? 'ID';
  const lines = g.movedSince.map((m) => (m.moved ? `  ${m.workstream}: moved since, by resume ${m.by}` : `  ${m.workstream}: being resumed by ${m.by}, which may move it`));
  const waiting = g.movedSince.some((m) => !m.moved);
  return ['', `not integrated as it stands: ${g.integration?.branch ?? 'the integration\'s branch'} lacks what came after it on these workstreams:`, ...lines, `merge again${waiting ? ' once the resumes ended' : ''}: gitbus resolve ${id} --runner merge --force`];
}

/** `gitbus group` for people. Pure. */
export function groupText(g: GroupView): string {
  const out = [`group ${g.group}${g.title ? `: ${g.title}` : ''}`];
  if (g.repo) out.push(`  ${g.repo}, base ${g.base ?? '?'}${g.baseCommit ? ` at ${g.baseCommit.slice(0, 12)}` : ''}`);
  const rows = [...g.workstreams, ...(g.integration ? [g.integration] : []), ...g.others];
  out.push('', ...table(rows, (t) => t.workstream ?? (t === g.integration ? 'integration' : 'kind' in t ? String(t.kind) : 'other')));
  // A failure a later resolve or integration made moot is in the table; its reason (resolve again, ...) is not news.
  for (const t of rows) if (t.reason && !g.superseded.includes(t.id)) out.push(`  ${t.workstream ?? t.id}: ${t.reason}`);
  const c = g.integration?.project?.conflicts;
  const fixed = g.others.find((o) => o.id === g.resolvedBy);
  if (c?.length) {
    out.push('', `conflicts (${g.integration?.branch ?? 'integration'} left untouched${fixed ? `; resolved by ${fixed.id}` : ''}):`);
    for (const x of c) out.push(`  ${x.branch}: ${x.files.join(', ')}`);
    if (fixed?.branch) out.push(`resolved by ${fixed.id}: ${fetchCommand(remoteOf(fixed, g), fixed.branch)}`, ...movedLines(g));
    else {
      // A follow-up that ended without merging every workstream is no resolution: said, with what to do instead.
      for (const x of g.incomplete) out.push(incompleteLine(x, g.others.find((o) => o.id === x.id)));
      const id = g.integration?.id ?? 'ID';
      out.push(g.incomplete.length ? `resolve again: gitbus resolve ${id}, or merge again once the workstreams are fixed: gitbus resolve ${id} --runner merge` : `ask an agent to resolve them: gitbus resolve ${id}`);
    }
  } else if (g.integration?.state === 'succeeded' && g.integration.branch) {
    out.push('', `${g.movedSince.length ? 'integrated before the resumes below' : 'integrated'}: ${fetchCommand(remoteOf(g.integration, g), g.integration.branch)}`, ...movedLines(g));
  }
  if (g.costUsd > 0) out.push('', `cost so far: $${g.costUsd.toFixed(2)}`);
  return out.join('\n');
}

export function register(program: Command): void {
  withCommon(
    program
      .command('group')
      .argument('<name>', "the fan-out's group name", schemaFlag('NAME', groupNameSchema))
      .description("a fan-out at a glance: each workstream's state, node, attempt, claude session, cost and changes, and the integration with its conflicts"),
  ).action(async (name: string, opts: CommonOptions) =>
    withBus(opts, async (ctx) => {
      const g = await groupView(ctx, name);
      if (!opts.json) offlineNote(g.offline);
      emit(opts, g, () => groupText(g));
    }),
  );
}
