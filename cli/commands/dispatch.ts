import { isFinal } from '../../bus/model/types.js';
import type { Command } from 'commander';
import { NodeCannotRunError } from '../../bus/errors.js';
import { firstLine } from '../../schemas/errors.js';
import { dispatch } from '../../bus/ops/dispatch.js';
import { handoffBody } from '../../bus/ops/handoff-body.js';
import { dispatchTargetProblem } from '../../bus/ops/dispatch-target.js';
import { gitContextOf } from '../../bus/git-context.js';
import { lookAtWorkTree } from '../../bus/project/checkout-look.js';
import type { Handoff } from '../../schemas/handoff.js';
import { readBodyFile, withBus, withCommon, type CommonOptions } from '../common.js';
import { dispatchFromFlags, durationFlag, durationMs, intFlag, oneOfFlag, repeatableFlag, schemaFlag } from '../flags.js';
import { handoffSchema } from '../../schemas/handoff.js';
import { labelSchema, nodeNameSchema, taskIdSchema } from '../../schemas/fields.js';
import { effectiveRunner, RUNNERS } from '../../schemas/field-limits.js';
import { handoffFieldOk } from '../../schemas/handoff-fast.js';
import { isLabel, isNodeName, isTaskId } from '../../schemas/ids.js';
import { cronSchema } from '../../schemas/cron.js';
import { handoffProject } from '../../schemas/project.js';
import { groupNameSchema } from '../../schemas/project-schema.js';
import { emit, note, writeOut } from '../output.js';
import { EXIT } from '../exit-codes.js';
import { endFields, projectEnd, projectOutcome, refuseLoneWaitTimeout, reportEnd, stillWaits, timedOut, waitForEnd } from '../wait.js';
import { projectFieldsFor, projectFromFlags, projectLine, projectSummary, reportProject, withProjectFlags, type ProjectOpts } from '../project-flags.js';
import { resumeInto } from '../../bus/ops/resume.js';
import { InputError } from '../../bus/errors.js';
import { recordForClaudeSession } from '../claude-session.js';
import { signerFor, withUnsignedFlag } from '../signing.js';
import { applyClaudeFlags, withClaudeFlags, type ClaudeOpts } from '../claude-flags.js';
import { dispatchFromFile, refuseSingleFlags } from '../dispatch-batch.js';

interface Opts extends CommonOptions, ProjectOpts, ClaudeOpts {
  unsigned?: boolean;
  group?: string;
  to?: string;
  label?: string[];
  runner?: Handoff['runner'];
  command?: string;
  bodyFile?: string;
  after?: string[];
  priority?: number;
  timeout?: string;
  workdir?: string;
  id?: string;
  context?: string;
  instructions?: string;
  git: boolean;
  wait?: boolean;
  waitTimeout?: string;
  schedule?: string;
  force?: boolean;
  resume?: string;
  from?: string;
  dryRun?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('dispatch')
    .argument('[title]', 'one line saying what to do (not with --from)', schemaFlag('TITLE', () => handoffSchema.shape.title, (v) => handoffFieldOk('title', v)))
    .description('put a new task (a handoff) on the bus; prints its id. --from FILE: many tasks in one commit')
    .option('--to <node>', 'only this node may claim it', schemaFlag('--to', () => nodeNameSchema, isNodeName))
    .option('--label <label>', 'a label the claiming node must have (repeatable)', repeatableFlag('--label', () => labelSchema, isLabel))
    .option('--runner <runner>', `how to run it: ${RUNNERS.join(', ')} (default: shell with --command, else manual: no watcher runs it, a person or an agent claims it)`, oneOfFlag('--runner', RUNNERS))
    .option('--command <cmd>', 'the command line to run', schemaFlag('--command', () => handoffSchema.shape.command._zod.def.innerType, (v) => handoffFieldOk('command', v)))
    .option('--body-file <file>', 'the task description (Markdown); - reads standard input')
    .option('--context <text>', 'background the worker needs')
    .option('--instructions <text>', 'how to do it and how to report back')
    .option('--after <id>', 'run only after this task succeeded (repeatable)', repeatableFlag('--after', () => taskIdSchema, isTaskId))
    .option('--priority <n>', 'higher runs first (-1000..1000, default 0)', intFlag('--priority', -1000, 1000))
    .option('--group <name>', "join a fan-out's group: gitbus group lists the task and cancel --group stops it; with --repo and --branch GROUP/WORKSTREAM, a rework of that workstream's branch, which resolve --runner merge then merges", schemaFlag('--group', () => groupNameSchema, (v) => handoffFieldOk('group', v)))
    .option('--timeout <duration>', 'stop the run after this long, e.g. 30m', durationFlag('--timeout', { positive: true }))
    .option('--workdir <dir>', 'where it runs on the worker, relative to its work root, or under a named root of its node.yaml (src/project)', schemaFlag('--workdir', () => handoffSchema.shape.workdir._zod.def.innerType, (v) => handoffFieldOk('workdir', v)))
    .option('--id <id>', 'choose the id instead of generating one', schemaFlag('--id', () => taskIdSchema, isTaskId))
    .option('--schedule <cron>', 'make it recurring: watchers dispatch one instance per due time (cron, UTC; 5 fields, minute first)', schemaFlag('--schedule', () => cronSchema))
    .option('--resume <id>', "continue that claude task's session on the node that ran it, in its worktree (its repo, branch and node are used)", schemaFlag('--resume', () => taskIdSchema, isTaskId))
    .option('--force', 'dispatch even when --to names a node that is not on the bus or cannot run the task (it waits until one can)')
    .option('--no-git', "do not read the current directory's git: no git state in the body, and no project work unless --repo")
    .option('--wait', 'wait for the response, showing progress; exit 0 if the task succeeded, 9 if it ended otherwise')
    .option('--wait-timeout <duration>', 'with --wait: stop waiting after this long (exit 11; the task goes on), e.g. 10m', durationFlag('--wait-timeout', { positive: true }))
    .option('--from <file>', 'many tasks in ONE commit: a JSON Lines file (a task per line: {"title": ..., "command": ...}) or YAML with tasks: [...]; - reads standard input; --to/--label are defaults, --repo/--base/--no-repo apply to all')
    .option('--dry-run', 'with --from: check the file and show the handoffs; write nothing');
  withCommon(withUnsignedFlag(withClaudeFlags(withProjectFlags(cmd, true)))).action(async (title: string | undefined, opts: Opts) =>
    withBus(opts, async (ctx) => {
      if (opts.from !== undefined) {
        refuseSingleFlags(title, { ...opts });
        await dispatchFromFile(ctx, opts.from, opts);
        return;
      }
      if (opts.dryRun) throw new InputError('--dry-run goes with --from', 'leave out --dry-run, or give --from FILE', { flag: '--dry-run' });
      refuseLoneWaitTimeout(opts);
      // A schedule is a template that never ends (its instances do): --wait would wait for ever.
      if (opts.wait && opts.schedule) throw new InputError('--wait cannot wait for a schedule: the template never ends, each due time dispatches an instance of its own', 'leave out --wait; follow an instance with "gitbus logs ID --follow" once "gitbus status" lists it', { flag: '--wait' });
      if (title === undefined) throw new InputError('dispatch needs a TITLE, or --from FILE for many tasks', 'gitbus dispatch "Run the tests" --command "make test"', { flag: 'TITLE' });
      const task = opts.bodyFile !== undefined ? readBodyFile(opts.bodyFile) : title;
      // One look at the checkout for the body's git state and the project fields.
      // The tracking refs at HEAD only for a base taken from HEAD (bus/project/resolve.ts pushedAsSeen).
      const look = opts.git ? await lookAtWorkTree(process.cwd(), { recent: true, tracking: opts.repo !== false && opts.base === undefined }) : null;
      const git = gitContextOf(look);
      const body = handoffBody({ task, ...(opts.context ? { context: opts.context } : {}), ...(opts.instructions ? { instructions: opts.instructions } : {}), git });
      const handoff: Omit<Handoff, 'id' | 'from' | 'created'> = { title };
      if (opts.to) handoff.to = opts.to;
      if (opts.label?.length) handoff.labels = opts.label;
      if (opts.runner) handoff.runner = opts.runner;
      if (opts.command) handoff.command = opts.command;
      if (opts.after?.length) handoff.after = opts.after;
      if (opts.priority !== undefined) handoff.priority = opts.priority;
      if (opts.group) handoff.group = opts.group;
      if (opts.timeout) handoff.timeout = opts.timeout;
      if (opts.workdir) handoff.workdir = opts.workdir;
      if (opts.schedule) handoff.schedule = opts.schedule;
      if (opts.resume && (typeof opts.repo === 'string' || opts.base !== undefined || opts.branch !== undefined)) {
        throw new InputError('--resume takes the project, base and branch of the task it resumes', 'leave out --repo, --base and --branch', { flag: '--resume' });
      }
      // Before anything is queued: a base that is not on the project remote refuses the dispatch.
      const project = opts.resume ? { fields: null, warnings: [], notes: [] } : await projectFromFlags(ctx, opts, { implicit: opts.git, readCheckout: opts.git, by: 'dispatch', look });
      const fields = projectFieldsFor(project, opts.schedule !== undefined);
      if (fields) Object.assign(handoff, fields);
      reportProject(project, Boolean(opts.json));
      const resumed = opts.resume ? await resumeInto(ctx, opts.resume, handoff) : null;
      applyClaudeFlags(handoff, opts);
      const target = handoff.to ? await dispatchTargetProblem(ctx, handoff.to, handoff) : null;
      if (target && !opts.force) throw target;
      // With --force an unknown node is among dispatch's own warnings; a card that cannot run it is not.
      if (target instanceof NodeCannotRunError && !opts.json) note(`gitbus: warning: ${firstLine(target)}; the task waits until it can`);
      const sign = await signerFor(ctx, opts);
      const r = await dispatchFromFlags(() => dispatch(ctx, { handoff, body, ...(opts.id ? { id: opts.id } : {}), ...(sign ? { sign } : {}), targetJudged: target instanceof NodeCannotRunError && !opts.json }), opts.bodyFile !== undefined ? '--body-file' : 'TITLE');
      if (!opts.json) for (const w of r.warnings) note(`gitbus: warning: ${w}`);
      if (!opts.schedule) recordForClaudeSession(ctx.paths.home, [{ id: r.id, title }]);
      // A resume's project is the resumed task's (resumeInto), as `resume --json` reports it, with what it resumes.
      const summary = resumed ? handoffProject(handoff, r.id) : projectSummary(fields, r.id, opts.schedule !== undefined);
      if (summary && !resumed && !opts.json) note(projectLine(summary, project.baseFrom, effectiveRunner(handoff) === 'manual'));
      if (r.manual && !opts.json) note(`gitbus: ${r.manual}`);
      const out = { ...r, ...(resumed ? { resumes: resumed.fields.resumes, node: resumed.node, session: resumed.session } : {}), ...(summary ? { project: summary } : {}), ...(project.notes.length ? { notes: project.notes } : {}), ...(project.warnings.length ? { warnings: [...project.warnings, ...r.warnings] } : {}) };
      if (r.queued) {
        note(`gitbus: queued ${r.id} on this node: the remote cannot be reached (${r.queued.reason}); it is sent at the next contact (any gitbus command, or the watcher)`);
        emit(opts, out, () => r.id);
        // Waiting needs the remote: say so with the remote's exit code; the task stays queued.
        if (opts.wait) process.exitCode = EXIT.remote;
        return;
      }
      if (!opts.wait) {
        emit(opts, out, () => r.id);
        return;
      }
      note(`dispatched ${r.id}; waiting for its response (Ctrl-C stops waiting, not the task)`);
      const waited = await waitForEnd(ctx, r.id, (line) => note(line), opts.json ? undefined : (text) => writeOut(text), durationMs(opts.waitTimeout));
      const done = waited.out;
      const end = await projectEnd(ctx, r.id, waited);
      const why = await stillWaits(ctx, waited, r.id);
      const outcome = projectOutcome(summary, end);
      emit(opts, { ...out, ...(outcome ? { project: outcome } : {}), state: done.state, node: done.node, attempt: done.attempt, output: done.text, ...endFields(waited), claude: done.claude, ended: waited.ended, ...(why ? { waits: why } : {}), ...(done.offline ? { offline: done.offline } : {}) }, () => '');
      // An ended wait's state is final; the test narrows it for the ledger.
      if (timedOut(waited, r.id, opts.waitTimeout, why) || !isFinal(done.state)) return;
      recordForClaudeSession(ctx.paths.home, [{ id: r.id, title, told: done.state }]);
      reportEnd(Boolean(opts.json), r.id, done, waited.notShown, end);
    }, undefined, false),
  );
}
