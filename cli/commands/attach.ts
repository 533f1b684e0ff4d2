import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { currentSnapshot } from '../../bus/ops/query.js';
import { AttachHostError, AttachSocketError, NotATmuxTaskError, TaskNotRunningError, UnknownTaskError } from '../../bus/errors.js';
import { resolveTaskIdBeyond } from '../../bus/model/resolve-id.js';
import { refuseIfArchived } from '../../bus/ops/archived-refusal.js';
import { archivedIdCheck } from '../../bus/ops/archive-lookup.js';
import { sessionName } from '../../watcher/runners/tmux.js';
import { isSshHostName, isTmuxSocketPath } from '../../schemas/node-card.js';
import { shellWord } from '../../bus/project/shell-word.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { emit, note } from '../output.js';

interface Opts extends CommonOptions {
  exec?: boolean;
}

export interface AttachTarget {
  id: string;
  node: string;
  local: boolean;
  /** The argv that attaches: tmux on this node, or ssh -t to the holder's host. */
  argv: string[];
  command: string;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('attach')
      .argument('<id>', 'a running tmux task (or interactive claude task)')
      .description("print the command that attaches to a running tmux task's session on its node (ssh -t HOST tmux attach ...); --exec runs it")
      .option('--exec', 'run the command (attach now) instead of printing it; exits with its exit code'),
  ).action(async (ref: string, opts: Opts) => {
    let target: AttachTarget | undefined;
    await withBus(opts, async (ctx) => {
      const snap = await currentSnapshot(ctx);
      let id: string;
      try {
        id = await resolveTaskIdBeyond(snap, ref, archivedIdCheck(ctx));
      } catch (err) {
        return refuseIfArchived(ctx, ref, err, 'attach to it');
      }
      const view = await snap.view(id);
      if (!view) throw new UnknownTaskError(ref);
      const h = view.handoff;
      const runner = h ? (h.runner ?? (h.command ? 'shell' : 'manual')) : 'unknown';
      if (!(runner === 'tmux' || (runner === 'claude' && h?.claude?.interactive === true))) throw new NotATmuxTaskError(id, runner === 'claude' ? 'claude (not interactive)' : runner);
      // A tmux task with `keep` leaves its session after it ended, for a person to look at: on the node that answered.
      const kept = view.response !== undefined && view.response !== null && h?.keep === true && runner === 'tmux' ? view.response.node : null;
      const holder = kept ?? (view.response ? null : (view.claim?.node ?? null));
      if (!holder || (kept === null && view.state !== 'claimed' && view.state !== 'cancelling')) throw new TaskNotRunningError(id, view.state);
      const local = holder === ctx.config.node;
      // The holder's watcher publishes the socket it runs tmux on (its GITBUS_TMUX_SOCKET), here as anywhere: this
      // shell's environment says nothing about the watcher's, which a service manager may have started.
      const card = (await snap.nodes()).find((n) => n.node === holder)?.card;
      const socket = card?.tmuxSocket;
      if (socket !== undefined && !isTmuxSocketPath(socket)) throw new AttachSocketError(id, holder, socket, sessionName(id));
      const tmuxArgv = (word: (s: string) => string) => ['tmux', ...(socket ? ['-S', word(socket)] : []), 'attach', '-t', `=${sessionName(id)}:`];
      const host = card?.host?.hostname ?? holder;
      if (!local && !isSshHostName(host)) throw new AttachHostError(id, holder, host, tmuxArgv(shellWord).join(' '));
      // ssh joins the words after the host with spaces for the host's shell: the socket is one word of that shell's.
      const argv = local ? tmuxArgv((s) => s) : ['ssh', '-t', host, ...tmuxArgv(shellWord)];
      target = { id, node: holder, local, argv, command: argv.map(shellWord).join(' ') };
      if (!opts.exec) emit(opts, { id, node: holder, local, command: target.command }, () => target?.command ?? '');
    });
    if (!opts.exec || !target || process.exitCode) return;
    const [cmd, ...args] = target.argv as [string, ...string[]];
    note(`gitbus: ${target.command}`);
    const code = await new Promise<number>((resolve) => {
      const child = spawn(cmd, args, { stdio: 'inherit' });
      child.on('error', (err) => {
        note(`gitbus: cannot run ${cmd}: ${err.message}`);
        resolve(1);
      });
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    });
    process.exitCode = code;
  });
}
