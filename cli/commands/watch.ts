import type { Command } from 'commander';
import { durationFlag, durationMs, WATCH_POLL_RANGE } from '../flags.js';
import { watch, WATCHER_ACTOR, type WatchEvent } from '../../watcher/watch.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { emit, writeOut } from '../output.js';
import { leaveTerminal } from '../std-write.js';
import { bytesText, span } from '../format.js';
import { preloadBusModules } from '../../bus/preload.js';
import { serveCommands, type ServeEvent } from '../serve/server.js';
import { stopStandaloneServer } from '../serve/standalone.js';
import { visibleText } from '../../schemas/output-text.js';

interface Opts extends CommonOptions {
  once?: boolean;
  poll?: string;
  grace?: string;
  retry?: string;
  retryMax?: string;
  keepLogs?: string;
  progressBeat?: string;
  serve?: boolean;
}

/** A line for a person, its control characters and bidirectional overrides shown, never obeyed. */
function humanLine(line: string | null): string | null {
  return line === null ? null : visibleText(line);
}

function serveLine(e: ServeEvent): string | null {
  switch (e.type) {
    case 'serving':
      return `serving short commands on ${e.socket}`;
    case 'serve-off':
      return `not serving commands: ${e.reason}${e.fix ? `\n  fix: ${e.fix}` : ''}`;
    case 'standbys':
      // Routine (after every served command): for --json readers and tests only.
      return null;
  }
}

export function eventLine(e: WatchEvent): string | null {
  switch (e.type) {
    case 'lost-race':
      // Routine under contention (the claim decides again at once): for --json readers and the benchmark only.
      return null;
    case 'started':
      return `watching as ${e.node}: ${e.runners.length ? `runners ${e.runners.join(', ')}, ${e.parallel} at a time` : 'no runners (keeping environment profiles in step only)'}${e.pollMs ? `, checking every ${e.pollMs / 1000}s` : ''}, heartbeat every ${e.heartbeatMs / 1000}s`;
    case 'runner-missing':
      return `runner ${e.runner} left out: "${e.binary}" is not on PATH, so this node claims no ${e.runner} task and does not offer it\n  fix: ${e.fix}`;
    case 'file-events-unavailable':
      return `warning: ${e.message}\n  fix: ${e.fix}`;
    case 'card-list-left-out':
      return `warning: node card leaves out ${e.field}: ${e.count} entries, more than the ${e.max} a card lists, so dispatch --to checks no task's repo against it; this node judges each when it claims\n  fix: ${e.fix}`;
    case 'trust-root-unpinned':
      return `warning: the bus has a trust root (version ${e.version}) that this node has not pinned: it runs any handoff, signed or not; this watcher does not pin it by itself\n  fix: ${e.fix}`;
    case 'settings':
      return `bus settings changed: ${e.pollMs ? `checking every ${span(e.pollMs)}, ` : ''}heartbeat every ${span(e.heartbeatMs)}`;
    case 'claimed':
      return `claimed ${e.id} (attempt ${e.attempt}${e.reclaimed ? ', reclaimed' : ''}): ${e.title}`;
    case 'finished':
      return `${e.id}: ${e.status}${e.exitCode !== null ? ` (exit ${e.exitCode})` : ''} in ${(e.durationMs / 1000).toFixed(1)}s`;
    case 'released':
      return `${e.id}: released (${e.reason})`;
    case 'error':
      return `error: ${e.message}${e.fix ? `\n  fix: ${e.fix}` : ''}`;
    case 'queued':
      return e.local ? `${e.id}: result kept in the outbox, to be sent again at the next wake or start (${e.reason})` : `${e.id}: result kept in the outbox until the remote is back (${e.reason})`;
    case 'delivered':
      return `${e.id}: result delivered (${e.status})`;
    case 'pushed':
      return `${e.id}: branch ${e.branch} pushed to the project remote${e.moved ? (e.rewritten ? ` (beside ${e.moved}: the run rewrote its history, a rebase or an amend, so it was not a fast-forward of ${e.rewritten.slice(0, 12)}; nothing was forced)` : e.apart ? ` (beside ${e.moved}: it did not build on the task's base, at ${e.apart.slice(0, 12)} since before the task)` : ` (${e.moved} had moved, so beside it)`) : ''}`;
    case 'branch-delivered':
      return e.moot ? `${e.id}: branch ${e.branch} is on the project remote; nothing said on the bus (${e.moot})` : `${e.id}: the bus says now that branch ${e.branch} is on the project remote (deliveries/${e.id}.${e.attempt}.md)`;
    case 'rejected':
      return `${e.id}: the bus no longer accepts this result (${e.reason}); kept in ${e.path}`;
    case 'sent':
      return [
        ...(e.changes.length ? [`sent ${e.changes.length} change${e.changes.length === 1 ? '' : 's'} queued on this node: ${e.changes.map((c) => `${c.kind} ${c.id}`).join(', ')}`] : []),
        ...e.refused.map((r) => `queued ${r.kind} ${r.id} refused by the bus (${r.reason}); kept in ${r.path}`),
      ].join('\n');
    case 'scheduled':
      return `${e.id}: dispatched for ${e.due} by the schedule of ${e.template}`;
    case 'schedule-failed':
      return `${e.template}: its schedule dispatches nothing: ${e.reason}\n  fix: ${e.fix}`;
    case 'clone-pruned':
      return `pruned this node's clone: ${e.removed} object${e.removed === 1 ? '' : 's'} of old history and old tips removed (${bytesText(e.freedBytes)}) in ${e.tookMs} ms`;
    case 'archived':
      return `archived ${e.ids.length} finished task${e.ids.length === 1 ? '' : 's'}${e.ids.length ? `: ${e.ids.join(', ')}` : ''}${e.kept.length ? `; kept on main for the next archive (a file of theirs came meanwhile): ${e.kept.join(', ')}` : ''}`;
    case 'reaped':
      return `${e.id}: ${e.status} (${e.reason})`;
    case 'cancelled':
      return `${e.id}: cancelled (${e.reason})`;
    case 'remote-down':
      return `remote ${e.remote} is down: ${e.message} (${e.code}); retrying in ${span(e.retryInMs)}, then backing off up to ${span(e.maxRetryMs)}; running tasks go on and their results are kept in the outbox${e.fix ? `\n  fix: ${e.fix}` : ''}`;
    case 'remote-up':
      return `remote ${e.remote} is back after ${span(e.downForMs)} (${e.attempts} failed attempt${e.attempts === 1 ? '' : 's'})`;
    case 'spend-cap':
      return `claude tasks left for other nodes: ${e.reason}`;
    case 'refused':
      return e.answered ? `${e.id}: refused, answering failed (nothing run): ${e.reason}` : `${e.id}: left for other nodes: ${e.reason}`;
    case 'env-applied':
      return `env ${e.profile}: applied ${[
        ...e.written.map((t) => `wrote ${t}`),
        ...e.removed.map((t) => `removed ${t}`),
        ...e.modes.map((m) => `made ${m.target} ${m.executable ? 'executable' : 'not executable'}`),
        ...e.narrowed.map((n) => `wrote ${n.target} with mode ${n.applied}, not ${n.mode} as it was here (a setuid, setgid or sticky bit is never kept)`),
        ...e.leftovers.map((t) => `removed ${t} (a temp file a killed apply or restore left)`),
      ].join(', ')}${e.backup ? ` (what they replaced is in backup ${e.backup}: gitbus env restore ${e.backup})` : ''}`;
    case 'env-held':
      return `env ${e.profile}: left as they are: ${e.files.map((f) => `${f.target} (${f.state})`).join(', ')}; see gitbus env diff ${e.profile}`;
    case 'env-refused':
      return `env ${e.profile}: not applied: ${e.reason}${e.fix ? `\n  fix: ${e.fix}` : ''}`;
    case 'env-home-missing':
      return `env ${e.profiles.join(', ')}: not looked at or applied: ${e.reason}\n  fix: ${e.fix}`;
    case 'home-removed':
      return `stopping: the home ${e.home} was removed (its node.yaml is gone); running tasks get the grace period and go back to the bus (gitbus leave takes a node off the bus)`;
    case 'stopping': {
      const what = `${e.runs.length} running task${e.runs.length === 1 ? '' : 's'} (${e.runs.join(', ')})`;
      return e.graceMs > 0
        ? `stopping: waiting up to ${span(e.graceMs)} for ${what} to end; then ${e.runs.length === 1 ? 'it is' : 'they are'} stopped and go${e.runs.length === 1 ? 'es' : ''} back to the bus (a second Ctrl-C or SIGTERM stops ${e.runs.length === 1 ? 'it' : 'them'} now)`
        : `stopping now: ${what} stopped; ${e.runs.length === 1 ? 'it goes' : 'they go'} back to the bus`;
    }
    case 'stopped':
      return 'stopped';
  }
}

export function register(program: Command): void {
  withCommon(
    program
      .command('watch')
      .description('run the watcher in the foreground: claim tasks this node may run, run them, push the responses')
      .option('--once', 'claim what may be claimed now, run it to completion, push the responses and exit')
      .option('--poll <duration>', 'how often to check the remote (default: the bus setting poll)', durationFlag('--poll', { positive: true, range: WATCH_POLL_RANGE }))
      .option('--grace <duration>', 'on SIGTERM, how long running tasks may take before they are stopped and released (default 30s)', durationFlag('--grace'))
      .option('--retry <duration>', 'while the remote is down, the first wait before trying again; it doubles per failure (default: the poll interval, at least 1s); also how often a refused project branch push is tried again (default 1m), and the first wait before a project remote out of reach at the start of a task is fetched again (default 5s)', durationFlag('--retry', { positive: true }))
      .option('--retry-max <duration>', 'while the remote is down, the longest wait between attempts (default: 10 poll intervals, at most 5m); for a project remote at a task\'s start, the longest wait between fetches (default 1m)', durationFlag('--retry-max', { positive: true }))
      .option('--keep-logs <duration>', 'remove task logs in <home>/logs older than this, at start and daily (default 14d; 0 keeps them all)', durationFlag('--keep-logs', { zeroOff: true }))
      .option('--no-serve', 'do not serve short commands (status, dispatch, show, ...) from a standby process; each then starts as its own process (docs/ARCHITECTURE.md "Commands served by the watcher")')
      .option('--progress-beat <duration>', 'progress posted by a task (gitbus progress), and a run\'s first output, go out with an early heartbeat, at most one per this long (default 10s; 0: with the regular heartbeats only)', durationFlag('--progress-beat', { zeroOff: true })),
  ).action(async (opts: Opts) =>
    withBus(opts, async (ctx) => {
      // A daemon loads now what it would load later (bus/preload.ts); --once ends before any upgrade could matter.
      if (!opts.once) await preloadBusModules();
      const stop = new AbortController();
      const hurry = new AbortController();
      // A hangup (the terminal or SSH session it ran in closed) stops it as SIGTERM does: Node's default would end it
      // at once, its runs left running and their claims held (what it prints then is dropped: cli/std-write.ts). A
      // second signal ends the grace period at once, the runs still stopped and their tasks given back; but not a
      // second hangup, which a closing terminal sends too (the kernel, then the shell to its jobs).
      let first: NodeJS.Signals | null = null;
      const onSignal = (signal: NodeJS.Signals) => {
        if (signal === 'SIGHUP') leaveTerminal();
        if (first === null) {
          first = signal;
          stop.abort();
        } else if (!(signal === 'SIGHUP' && first === 'SIGHUP')) hurry.abort();
      };
      const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
      for (const s of signals) process.on(s, onSignal);
      try {
        // Without --poll the watcher takes the bus setting (from its clone when the remote is down at start).
        const pollMs = durationMs(opts.poll);
        const keepLogsMs = durationMs(opts.keepLogs);
        const graceMs = durationMs(opts.grace);
        const retryMs = durationMs(opts.retry);
        const retryMaxMs = durationMs(opts.retryMax);
        const progressBeatMs = durationMs(opts.progressBeat);
        // --once prints one JSON document at the end; the daemon prints one JSON event per line as it goes.
        const onEvent = (e: WatchEvent) => {
          if (opts.json && opts.once) return;
          // A human line quotes bus content (a title, a reason): shown as every human output shows it (cli/output.ts).
          const line = opts.json ? JSON.stringify(e) : humanLine(eventLine(e));
          if (line !== null) writeOut(`${line}\n`);
        };
        const ran = await watch(ctx, {
          once: Boolean(opts.once),
          ...(pollMs !== undefined ? { pollMs } : {}),
          ...(keepLogsMs !== undefined ? { keepLogsMs } : {}),
          stop: stop.signal,
          hurry: hurry.signal,
          ...(graceMs !== undefined ? { graceMs } : {}),
          ...(retryMs !== undefined ? { retryMs } : {}),
          ...(retryMaxMs !== undefined ? { retryMaxMs } : {}),
          ...(progressBeatMs !== undefined ? { progressBeatMs } : {}),
          // Never called for --once (watcher/watch.ts).
          ...(opts.serve === false ? {} : { whileLocked: () => {
            // A "gitbus serve" of this home (started by commands before this watcher ran) gives way to it.
            stopStandaloneServer(ctx.paths.home);
            return serveCommands(ctx.paths.home, (e) => {
              const line = opts.json ? JSON.stringify(e) : humanLine(serveLine(e));
              if (line !== null) writeOut(`${line}\n`);
            }).close;
          } }),
          onEvent,
        });
        if (opts.once) emit(opts, { ran }, () => `ran ${ran.length} task(s)`);
      } finally {
        for (const s of signals) process.off(s, onSignal);
      }
    }, WATCHER_ACTOR),
  );
}
