import type { Command } from 'commander';
import { InputError } from '../../bus/errors.js';
import { fanout, type FanoutResult } from '../../bus/ops/fanout.js';
import { fanoutProject } from '../../bus/ops/fanout-project.js';
import { labelSchema, nodeNameSchema } from '../../schemas/fields.js';
import { InvalidPlanError, MAX_PLAN_BYTES, parsePlan, planTooLargeProblem } from '../../schemas/plan.js';
import { baseSchema, commitSchema, groupNameSchema } from '../../schemas/project-schema.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { repeatableFlag, schemaFlag } from '../flags.js';
import { emit, note } from '../output.js';
import { signerFor, withUnsignedFlag } from '../signing.js';
import { recordForClaudeSession } from '../claude-session.js';
import { readAtMost } from '../../bus/read-at-most.js';
import { repoFlag } from '../project-flags.js';

interface Opts extends CommonOptions {
  unsigned?: boolean;
  repo?: string;
  base?: string;
  baseCommit?: string;
  to?: string;
  label?: string[];
  group?: string;
  dryRun?: boolean;
  force?: boolean;
}

/** The plan file, read only to its cap (bus/read-at-most.ts): a FIFO or a device may never end. */
async function readPlan(file: string): Promise<Buffer> {
  let read: Awaited<ReturnType<typeof readAtMost>>;
  try {
    read = await readAtMost(file, MAX_PLAN_BYTES);
  } catch (err) {
    throw new InputError(`cannot read the plan ${file}: ${(err as Error).message}`, 'give the path of a plan file (Markdown with frontmatter; see "Plan files" in docs/PROTOCOL.md)', { flag: 'PLAN' });
  }
  if (read.more) throw new InvalidPlanError([planTooLargeProblem(file)]);
  return read.bytes;
}

function human(r: FanoutResult): string {
  const short = r.baseCommit.slice(0, 12);
  const head = r.dryRun
    ? `fanout ${r.group} (dry run, nothing written): ${r.tasks.length} tasks`
    : r.queued
      ? `fanout ${r.group}: ${r.tasks.length} tasks queued on this node`
      : `fanout ${r.group}: ${r.tasks.length} tasks${r.commit ? ` in commit ${r.commit.slice(0, 12)}` : ''}`;
  const width = Math.max(...r.tasks.map((t) => (t.workstream ?? 'integration').length));
  const lines = r.tasks.map((t) => {
    const where = t.to ? ` for ${t.to}` : '';
    const labels = t.labels.length ? ` [${t.labels.join(',')}]` : '';
    const after = t.workstream === null ? `  after ${r.tasks.length - 1} workstream${r.tasks.length === 2 ? '' : 's'}` : '';
    return `  ${(t.workstream ?? 'integration').padEnd(width)}  ${t.id}  ${t.runner.padEnd(6)} ${t.branch}${where}${labels}${after}`;
  });
  const tail = r.dryRun ? r.tasks.map((t) => `\n==> ${t.path} <==\n${t.text.trimEnd()}`) : [`follow it with: gitbus group ${r.group}`];
  return [`${head} (${r.repo}, base ${r.base} at ${short})`, ...lines, ...tail].join('\n');
}

export function register(program: Command): void {
  withCommon(
    withUnsignedFlag(
      program
        .command('fanout')
        .argument('<plan>', 'the plan file: Markdown with frontmatter (title, workstreams, ...); the body is the brief every workstream shares')
        .description('put a fan-out on the bus in one commit: a task per workstream on branch <group>/<name>, all from one base, and an integration task that merges their branches into <group>/integration once all have ended')
        .option('--repo <url>', "the project's remote (default: the remote of the checkout you are in)", repoFlag('--repo'))
        .option('--base <ref>', 'the branch, tag or commit to start from (default: the checkout\'s branch)', schemaFlag('--base', baseSchema))
        .option('--base-commit <sha>', 'the full commit id the base is at (default: resolved in the checkout)', schemaFlag('--base-commit', commitSchema))
        .option('--group <name>', "the fan-out's name, instead of the plan's group (or its file name); refused while live tasks have it or the project remote has branches under it", schemaFlag('--group', groupNameSchema))
        .option('--to <node>', 'run every task on this node, unless the plan says otherwise', schemaFlag('--to', nodeNameSchema))
        .option('--label <label>', 'a label every task needs, unless the plan says otherwise (repeatable)', repeatableFlag('--label', labelSchema))
        .option('--dry-run', 'check the plan and show the handoffs it makes; write nothing')
        .option('--force', 'put it on the bus even when a task\'s node (--to, or the plan\'s to) is not on the bus or cannot run it (its tasks wait until one can)'),
    ),
  ).action(async (planFile: string, opts: Opts) =>
    withBus(
      opts,
      async (ctx) => {
        const parsed = parsePlan(planFile, await readPlan(planFile));
        // The error names every kind of problem, not only the first (InvalidPlanError).
        if (!parsed.ok) throw new InvalidPlanError(parsed.problems);
        const { project, warnings, branches } = await fanoutProject(ctx, process.cwd(), { ...(opts.repo ? { repo: opts.repo } : {}), ...(opts.base ? { base: opts.base } : {}), ...(opts.baseCommit ? { baseCommit: opts.baseCommit } : {}) });
        if (!opts.json) for (const w of warnings) note(`gitbus: warning: ${w}`);
        const sign = opts.dryRun ? undefined : await signerFor(ctx, opts);
        const made = await fanout(ctx, {
          ...(sign ? { sign } : {}),
          plan: parsed.plan,
          planPath: planFile,
          project,
          defaults: { ...(opts.to ? { to: opts.to } : {}), ...(opts.label?.length ? { labels: opts.label } : {}), ...(opts.group ? { group: opts.group } : {}) },
          dryRun: opts.dryRun === true,
          force: opts.force === true,
          remoteBranches: branches,
        });
        if (!opts.json) for (const w of made.warnings) note(`gitbus: warning: ${w}`);
        // --json has the project's warnings too (credentials left out of --repo), as dispatch's has.
        const r: FanoutResult = { ...made, warnings: [...warnings, ...made.warnings] };
        if (!r.dryRun) recordForClaudeSession(ctx.paths.home, r.tasks.map((t) => ({ id: t.id, title: t.title })));
        if (r.queued) note(`gitbus: queued the fan-out on this node: ${r.queued.reason}; it is sent in one commit at the next contact (any gitbus command, or the watcher)`);
        emit(opts, r, () => human(r));
      },
      // What was queued before goes out first (withBus), so the fan-out's commit holds the fan-out alone.
    ),
  );
}
