import type { Command } from 'commander';
import { NodeCannotRunError } from '../../bus/errors.js';
import { firstLine } from '../../schemas/errors.js';
import { dispatch } from '../../bus/ops/dispatch.js';
import { handoffBody } from '../../bus/ops/handoff-body.js';
import { currentSnapshot } from '../../bus/ops/query.js';
import type { Handoff } from '../../schemas/handoff.js';
import { MAX_TITLE_CHARS } from '../../schemas/field-limits.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { dispatchFromFlags, durationFlag, durationMs, repeatableFlag, schemaFlag } from '../flags.js';
import { labelSchema, nodeNameSchema } from '../../schemas/fields.js';
import { dispatchTargetProblem } from '../../bus/ops/dispatch-target.js';
import { emit, note, writeOut } from '../output.js';
import { EXIT } from '../exit-codes.js';
import { projectEnd, projectOutcome, stillWaits, timedOut, waitForEnd, warnProjectEnd } from '../wait.js';
import { truncationFields, truncationNote } from '../output-note.js';
import { signerFor, withUnsignedFlag } from '../signing.js';
import { commandLine, shellLineHint, shellWord } from '../shell-words.js';
import { projectFieldsFor, projectFromFlags, projectLine, projectSummary, reportProject, withProjectFlags, type ProjectOpts } from '../project-flags.js';

interface Opts extends CommonOptions, ProjectOpts {
  unsigned?: boolean;
  label?: string[];
  timeout?: string;
  waitTimeout?: string;
  force?: boolean;
}

export { commandLine, shellWord };

/** `run: <cmd>` on one line, within the title limit (in characters, not UTF-16 units). Pure. */
export function runTitle(cmd: string): string {
  const chars = Array.from(`run: ${cmd.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')}`);
  return chars.length <= MAX_TITLE_CHARS ? chars.join('') : `${chars.slice(0, MAX_TITLE_CHARS - 1).join('')}…`;
}

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .argument('<node>', 'the node that runs the command', schemaFlag('NODE', nodeNameSchema))
    .argument('<cmd...>', 'the command and its arguments, after --')
    .usage('[options] NODE -- CMD [ARG...]')
    .description("run a command on a node and wait for it (like tw run): prints its output, exits with its exit code (9 when it ended without one)")
    .option('--label <label>', 'a label the node must have (repeatable)', repeatableFlag('--label', labelSchema))
    .option('--timeout <duration>', 'stop the run after this long, e.g. 30m', durationFlag('--timeout', { positive: true }))
    .option('--wait-timeout <duration>', 'stop waiting after this long (exit 11; the task goes on), e.g. 10m', durationFlag('--wait-timeout', { positive: true }))
    .option('--force', 'dispatch even when the node is not on the bus or cannot run it (then it waits until it can)');
  // Never project work by itself: `run` runs a command on a node from wherever the user is (the quick start runs
  // it inside a clone of gitbus). --repo, --base or --branch make it project work, read from this checkout as
  // dispatch reads it.
  withCommon(withUnsignedFlag(withProjectFlags(cmd, false))).action(async (node: string, argv: string[], opts: Opts) =>
    withBus(opts, async (ctx) => {
      const command = commandLine(argv);
      const handoff: Omit<Handoff, 'id' | 'from' | 'created'> = { title: runTitle(command), to: node, runner: 'shell', command };
      if (opts.label?.length) handoff.labels = opts.label;
      if (opts.timeout) handoff.timeout = opts.timeout;
      const project = await projectFromFlags(ctx, opts, { implicit: false, readCheckout: true, by: 'run' });
      const fields = projectFieldsFor(project, false);
      if (fields) Object.assign(handoff, fields);
      reportProject(project, Boolean(opts.json));
      const body = handoffBody({ task: `Run on ${node}:\n\n\`\`\`sh\n${command.replace(/```/g, "'''")}\n\`\`\``, git: null });
      const target = await dispatchTargetProblem(ctx, node, handoff, 'run');
      if (target && !opts.force) throw target;
      // With --force an unknown node is among dispatch's own warnings; a card that cannot run it is not.
      if (target instanceof NodeCannotRunError) note(`gitbus: warning: ${firstLine(target)}; the task waits until it can`);
      const sign = await signerFor(ctx, opts);
      const r = await dispatchFromFlags(() => dispatch(ctx, { handoff, body, ...(sign ? { sign } : {}) }), 'CMD');
      for (const w of r.warnings) note(`gitbus: warning: ${w}`);
      const summary = projectSummary(fields, r.id, false);
      if (summary) note(projectLine(summary, project.baseFrom));
      if (r.queued) {
        note(`gitbus: queued ${r.id} on this node: the remote cannot be reached (${r.queued.reason}); it is sent at the next contact (any gitbus command, or the watcher)`);
        emit(opts, { id: r.id, node, queued: r.queued }, () => '');
        process.exitCode = EXIT.remote;
        return;
      }
      note(`dispatched ${r.id}; waiting for its response (Ctrl-C stops waiting, not the task)`);
      const waited = await waitForEnd(ctx, r.id, (line) => note(line), opts.json ? undefined : (text) => writeOut(text), durationMs(opts.waitTimeout));
      const done = waited.out;
      if (!waited.ended) {
        const why = await stillWaits(ctx, waited, r.id);
        emit(opts, { id: r.id, node: done.node, status: done.state, exitCode: null, reason: null, output: done.text, ...truncationFields(done), claude: done.claude, ended: false, ...(why ? { waits: why } : {}), ...(done.offline ? { offline: done.offline } : {}), ...(summary ? { project: summary } : {}) }, () => '');
        timedOut(waited, r.id, opts.waitTimeout, why);
        return;
      }
      const view = await (await currentSnapshot(ctx)).view(r.id);
      const response = view?.response;
      const exitCode = response?.exitCode ?? null;
      const reason = response?.reason ?? null;
      // No such program (127), named by an argument that is a shell line: what the person meant, spelled out.
      const hint = exitCode === 127 ? shellLineHint(node, argv) : null;
      // As dispatch --wait: where the results really are, not only what the dispatch announced.
      const end = await projectEnd(ctx, r.id, waited);
      const outcome = projectOutcome(summary, end);
      emit(opts, { id: r.id, node: done.node, status: done.state, exitCode, reason, output: done.text, ...truncationFields(done), claude: done.claude, ended: true, ...(outcome ? { project: outcome } : {}), ...(hint ? { hint } : {}) }, () => '');
      if (hint && !opts.json) note(`gitbus: hint: ${hint}`);
      const cut = opts.json ? null : truncationNote(done, waited.notShown);
      if (cut) note(cut);
      // A command that exited 0 keeps exit 0 with results beside the branch or not pushed, as dispatch --wait does.
      warnProjectEnd(Boolean(opts.json), r.id, end);
      // A run stopped by its timeout or a cancel may still report the exit of a command that ended as the stop came:
      // the task did not run to its end, which exit 9 says whatever the code.
      const stopped = done.state === 'timed-out' || done.state === 'cancelled';
      if (!stopped && exitCode !== null && exitCode >= 0 && exitCode <= 255) {
        process.exitCode = exitCode;
        return;
      }
      note(`gitbus: ${r.id} ended ${done.state}${exitCode === null ? ' without an exit code' : ''}${reason ? `: ${reason}` : exitCode !== null ? ` (it reported ${exitCode})` : ''}`);
      process.exitCode = EXIT.taskEnded;
    }),
  );
}
