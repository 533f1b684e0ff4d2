import { isFinal } from '../../bus/model/types.js';
import type { Command } from 'commander';
import { resume } from '../../bus/ops/resume.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { emit, note, writeOut } from '../output.js';
import { EXIT } from '../exit-codes.js';
import { endFields, projectEnd, projectOutcome, refuseLoneWaitTimeout, reportEnd, stillWaits, timedOut, waitForEnd } from '../wait.js';
import { handoffProject } from '../../schemas/project.js';
import { durationFlag, durationMs } from '../flags.js';
import { recordForClaudeSession } from '../claude-session.js';
import { signerFor, withUnsignedFlag } from '../signing.js';

interface Opts extends CommonOptions {
  wait?: boolean;
  waitTimeout?: string;
  unsigned?: boolean;
}

export function register(program: Command): void {
  withCommon(
    withUnsignedFlag(
      program
        .command('resume')
        .argument('<id>', 'the task whose claude session to continue (live or archived)')
        .argument('<prompt>', 'what the session should do next')
        .description("continue a claude task's session on the node that ran it, in the same worktree or folder; prints the new task's id")
        .addHelpText('after', '\nThe new task goes to that node with claude.resume set to the session and "resumes: ID", on the same repo and branch.\nFor other dispatch options (--priority, --timeout, --label) use: gitbus dispatch TITLE --resume ID')
        .option('--wait', 'wait for the response, showing progress; exit 0 if the task succeeded, 9 if it ended otherwise')
        .option('--wait-timeout <duration>', 'with --wait: stop waiting after this long (exit 11; the task goes on), e.g. 10m', durationFlag('--wait-timeout', { positive: true })),
    ),
  ).action(async (id: string, prompt: string, opts: Opts) =>
    withBus(opts, async (ctx) => {
      refuseLoneWaitTimeout(opts);
      const { fields, ...resumed } = await resume(ctx, id, prompt, await signerFor(ctx, opts));
      // The resumed task's project (its repo, base and branch), as `dispatch --json` reports a project task's.
      const project = handoffProject(fields, resumed.id);
      const r = { ...resumed, ...(project ? { project } : {}) };
      recordForClaudeSession(ctx.paths.home, [{ id: r.id, title: r.title }]);
      if (r.queued) {
        note(`gitbus: queued ${r.id} on this node: the remote cannot be reached (${r.queued.reason}); it is sent at the next contact (any gitbus command, or the watcher)`);
        emit(opts, r, () => r.id);
        if (opts.wait) process.exitCode = EXIT.remote;
        return;
      }
      if (!opts.json) for (const w of r.warnings) note(`gitbus: warning: ${w}`);
      if (!opts.wait) {
        emit(opts, r, () => r.id);
        return;
      }
      note(`dispatched ${r.id}, resuming ${r.resumes} (session ${r.session}) on ${r.node}; waiting for its response (Ctrl-C stops waiting, not the task)`);
      const waited = await waitForEnd(ctx, r.id, (line) => note(line), opts.json ? undefined : (text) => writeOut(text), durationMs(opts.waitTimeout));
      const done = waited.out;
      const end = await projectEnd(ctx, r.id, waited);
      const why = await stillWaits(ctx, waited, r.id);
      const outcome = projectOutcome(project, end);
      emit(opts, { ...r, ...(outcome ? { project: outcome } : {}), state: done.state, node: done.node, attempt: done.attempt, output: done.text, ...endFields(waited), claude: done.claude, ended: waited.ended, ...(why ? { waits: why } : {}), ...(done.offline ? { offline: done.offline } : {}) }, () => '');
      // An ended wait's state is final; the test narrows it for the ledger.
      if (timedOut(waited, r.id, opts.waitTimeout, why) || !isFinal(done.state)) return;
      recordForClaudeSession(ctx.paths.home, [{ id: r.id, title: r.title, told: done.state }]);
      reportEnd(Boolean(opts.json), r.id, done, waited.notShown, end);
    }, undefined, false),
  );
}
