import type { Command } from 'commander';
import { taskOutput, type TaskOutput } from '../../bus/ops/task-output.js';
import { deliveringText } from '../../bus/ops/heartbeat.js';
import { isFinal } from '../../bus/model/types.js';
import { offlineNote, withBus, withCommon, type CommonOptions } from '../common.js';
import { emit, note, writeOut } from '../output.js';
import { truncationNote } from '../output-note.js';
import { outputView } from '../../watcher/output-view.js';
import { followOn, OutputFollower } from '../../watcher/output-follow.js';

interface Opts extends CommonOptions {
  follow?: boolean;
  raw?: boolean;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('logs')
      .argument('<id>', 'task id, or a unique prefix or suffix of it')
      .description('the output of a task: live from the node that runs it (any node can ask), or from its response; a claude run as readable lines')
      .option('-f, --follow', 'keep printing new output until the task ends')
      .option('--raw', "the output as it was logged: on the node that ran it, its log (a claude run's stream-json as claude wrote it; the last 8 MB of a longer one, whose file is named); elsewhere what the heartbeat or response holds, unformatted. Control characters are applied or dropped as everywhere; the file has the bytes"),
  ).action(async (id: string, opts: Opts) =>
    withBus(opts, async (ctx) => {
      const raw = Boolean(opts.raw);
      if (!opts.follow || opts.json) {
        const out = await taskOutput(ctx, id, { raw });
        if (!opts.json) offlineNote(out.offline);
        const said = opts.json ? null : truncationNote(out);
        if (said) note(said);
        if (!opts.json) deliveringNote(out);
        // stdout is the task's output, empty here: why it is empty goes to stderr.
        // A task that ended without a run (its worktree could not be prepared) has a response and no output.
        if (!opts.json && (out.source === 'none' || (out.text.trim() === '' && isFinal(out.state)))) note(noOutputNote(out));
        emit(opts, out, () => outputView(out, opts.raw));
        return;
      }
      // This node's log is read on by position (a log only grows, and output that repeats itself is new each time
      // it is written), so each read asks taskOutput only where the task stands, the log looked at, not read; a
      // heartbeat or response is a window on the end of the output, matched by its text.
      const follower = new OutputFollower(raw);
      let { out, step } = await followOn(ctx, await taskOutput(ctx, id, { raw, logText: false }), follower, { raw });
      offlineNote(out.offline);
      // Of this node's log, what the follower leaves out: its start before the first window.
      const said = truncationNote(out, follower.logNotShown);
      if (said) note(said);
      let held = deliveringNote(out);
      writeOut(step.printed);
      // An archived task does not change any more: one whose end is damaged or forged (`invalid`) would be followed in vain.
      while (!isFinal(out.state) && !out.archived) {
        await new Promise((r) => setTimeout(r, 1000));
        ({ out, step } = await followOn(ctx, await taskOutput(ctx, out.id, { raw, logText: false }), follower, { raw }));
        // Where bytes were left out: said on stderr, so that stdout stays what the task wrote.
        if (step.note) note(step.note.trimEnd());
        if (step.printed) writeOut(step.printed);
        // Said once when the holder starts to hold the result, on stderr with the other notes.
        if (out.delivering && !held) held = deliveringNote(out);
        else if (!out.delivering) held = false;
      }
      // Once it ended: whether its response holds only the end of the output, and where all of it is; of this node's
      // log, what the follower did not print (its start, and what came in faster than it read).
      const end = truncationNote(out, follower.logNotShown);
      if (end && end !== said) note(end);
    }),
  );
}

/** Why a task shows no output: nothing ran it yet, it never runs, or its holder has said nothing yet. */
function noOutputNote(out: TaskOutput): string {
  if (out.state === 'invalid') return `gitbus: ${out.id} has no output: it is invalid and never runs ("gitbus show ${out.id}" says why)`;
  if (isFinal(out.state)) return `gitbus: ${out.id} has no output: it ended ${out.state} with none${out.reason ? `: ${out.reason}` : ''}`;
  if (!out.node) return `gitbus: ${out.id} has no output yet: it is ${out.state}, and no node has run it`;
  return `gitbus: ${out.id} has no output yet: ${out.node} has not sent any (it is ${out.state})`;
}

/** A claimed task whose run ended on its holder, its result waiting there for the project remote: said on stderr. */
function deliveringNote(out: TaskOutput): boolean {
  if (!out.delivering || !out.node) return false;
  note(`${out.id}: ${deliveringText(out.node, out.delivering)}`);
  return true;
}
