import type { Command } from 'commander';
import { RESOLVE_RUNNERS, resolveConflicts, type ResolveOptions } from '../../bus/ops/resolve.js';
import { labelSchema, nodeNameSchema } from '../../schemas/fields.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { oneOfFlag, repeatableFlag, schemaFlag } from '../flags.js';
import { emit, note } from '../output.js';
import { recordForClaudeSession } from '../claude-session.js';
import { signerFor, withUnsignedFlag } from '../signing.js';
import { claudeFromFlags, withClaudeFlags, type ClaudeOpts } from '../claude-flags.js';
import { InputError } from '../../bus/errors.js';

interface Opts extends CommonOptions, ClaudeOpts {
  unsigned?: boolean;
  to?: string;
  label?: string[];
  runner?: ResolveOptions['runner'];
  force?: boolean;
}

export function register(program: Command): void {
  withCommon(
    withClaudeFlags(withUnsignedFlag(program
      .command('resolve')
      .argument('<id>', 'the integration task that ended with conflicts (a unique prefix or suffix will do)')
      .description('ask an agent to resolve an integration\'s merge conflicts: dispatches a task on the integration branch that merges the same branches in order, lists the conflicts by branch and file, and asks to resolve, test and commit')
      .option('--to <node>', 'only this node may claim it', schemaFlag('--to', nodeNameSchema))
      .option('--label <label>', 'a label the claiming node must have (repeatable)', repeatableFlag('--label', labelSchema))
      .option('--runner <runner>', 'who resolves: claude (an agent; the default), manual (a person or an agent claims it by hand), or merge (the merge runner again, as the integration was, after the newest task on each branch: a workstream resumed to rework its branch)', oneOfFlag('--runner', RESOLVE_RUNNERS))
      .option('--force', 'dispatch even when --to names a node that is not on the bus or cannot run it (it waits until one can), or when an earlier resolve of it already succeeded')), { resumeSession: false }),
  ).action(async (id: string, opts: Opts) =>
    withBus(
      opts,
      async (ctx) => {
        const claude = claudeFromFlags(opts);
        if (claude && opts.runner !== undefined && opts.runner !== 'claude') throw new InputError(`the claude flags (--model, --max-budget-usd, ...) are for the claude runner, and --runner is ${opts.runner}`, `leave --runner ${opts.runner} out, or the claude flags`, { flag: '--runner' });
        const sign = await signerFor(ctx, opts);
        const r = await resolveConflicts(ctx, id, { ...(opts.to ? { to: opts.to } : {}), ...(opts.label?.length ? { labels: opts.label } : {}), ...(opts.runner ? { runner: opts.runner } : {}), ...(claude ? { claude } : {}), ...(sign ? { sign } : {}), force: opts.force === true });
        if (!opts.json) for (const w of r.warnings) note(`gitbus: warning: ${w}`);
        recordForClaudeSession(ctx.paths.home, [{ id: r.id, title: r.title }]);
        if (r.queued) note(`gitbus: queued ${r.id} on this node: the remote cannot be reached (${r.queued.reason}); it is sent at the next contact`);
        const files = r.conflicts.reduce((n, c) => n + c.files.length, 0);
        if (opts.runner === 'merge') return emit(opts, r, () => `${r.id}\n  merges ${r.merge.length} branch${r.merge.length === 1 ? '' : 'es'} into ${r.branch} again${r.after?.length ? `, each as its newest task reports it (after ${r.after.join(', ')})` : ''}${r.group ? `; follow it with: gitbus group ${r.group}` : ''}`);
        emit(opts, r, () => `${r.id}\n  resolves ${files} conflicted file${files === 1 ? '' : 's'} in ${r.conflicts.length} branch${r.conflicts.length === 1 ? '' : 'es'} of ${r.integration} on ${r.branch}${r.group ? `; follow it with: gitbus group ${r.group}` : ''}${r.claudeFromWorkstreams ? `\n  claude: ${Object.entries(r.claudeFromWorkstreams).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(', ') : String(v)}`).join('; ')} as its workstreams asked (the claude flags override these)` : ''}`);
      },
      undefined,
      // dispatch() sends the queue itself.
      false,
    ),
  );
}
