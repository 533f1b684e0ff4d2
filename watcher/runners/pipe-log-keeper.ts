// The log keeper tmux's `pipe-pane` runs for a tmux run (tmux.ts), as a process of its own since tmux needs a
// command to pipe a pane's output to (it was `cat >> LOG` before the cap):
//
//   node dist/watcher/runners/pipe-log-keeper.js LOG CAP_BYTES END_BYTES CAP_TEXT STATUS
//
// It reads the pane's output on its stdin into LOG under the cap (log-file.ts, log-cap.ts), and once the pipe ends
// (or it is told to stop) writes the count of what was dropped and the output's end, then its status (the counts,
// log-cap.ts statusText) to STATUS: the file the runner waits for, and how it learns the counts (never through the
// log, where a task could print a look-alike line). An entry of its own, run as tsc built it (log-keeper.ts
// pipeKeeperScript finds it): it loads only these few modules, not the CLI's bundle.
import { renameSync, writeFileSync } from 'node:fs';
import { statusText, type LogCap } from './log-cap.js';
import { CappedLog } from './log-file.js';

/** Its arguments, or null when they are not what the runner gives. */
function readArgs(argv: string[]): { logPath: string; statusPath: string; cap: LogCap } | null {
  const [logPath, bytes, end, text, statusPath] = argv;
  const count = (arg: string | undefined) => (arg !== undefined && /^[0-9]{1,16}$/.test(arg) ? Number(arg) : undefined);
  const [b, e] = [count(bytes), count(end)];
  if (logPath === undefined || statusPath === undefined || text === undefined || b === undefined || e === undefined) return null;
  return { logPath, statusPath, cap: { bytes: b, end: e, text } };
}

const args = readArgs(process.argv.slice(2));
if (!args) {
  process.stderr.write("usage: node pipe-log-keeper.js LOG CAP_BYTES END_BYTES CAP_TEXT STATUS (gitbus's tmux runner runs it)\n");
  process.exit(2);
}
const { statusPath } = args;
const log = new CappedLog(args.logPath, args.cap);
let done = false;

function finish(): void {
  if (done) return;
  done = true;
  const loss = log.end();
  try {
    // Renamed into place: the runner never reads half a status.
    writeFileSync(`${statusPath}.tmp`, statusText(loss));
    renameSync(`${statusPath}.tmp`, statusPath);
  } catch {
    // The runner then knows no counts, and says nothing of them.
  }
  process.exit(0);
}

process.stdin.on('data', (chunk: Buffer) => log.take(chunk));
process.stdin.on('end', finish);
process.stdin.on('error', finish);
// A stop from outside (the pane's session killed, a Ctrl-C that reached it) still leaves the end and the counts.
for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.on(signal, finish);
