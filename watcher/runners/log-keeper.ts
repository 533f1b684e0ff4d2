import { closeSync, existsSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { NodeConfig } from '../../bus/home.js';
import { openRegularFile } from '../../bus/open-regular.js';
import type { LogLoss } from '../../bus/ops/response-sections.js';
import { DEFAULT_LOG_SIZE, formatByteSize, tryParseByteSize } from '../../schemas/byte-size.js';
import { keptStatus, STATUS_MAX, type LogCap } from './log-cap.js';
import { CappedLog } from './log-file.js';

export type { LogCap, LogLoss };

/**
 * The most of a log's end that is kept past its cap: what a claude run's readable output is made from
 * (claude.ts READABLE_WINDOW), and far more than a response's 8 KiB.
 */
export const KEPT_END_BYTES = 512 * 1024;

/** The node's cap on a task's log: node.yaml `maxLogSize`, else DEFAULT_LOG_SIZE. Pure. */
export function logCapOf(node: Pick<NodeConfig, 'maxLogSize'> | undefined): LogCap {
  const bytes = tryParseByteSize(node?.maxLogSize) ?? DEFAULT_LOG_SIZE;
  return { bytes, end: Math.min(KEPT_END_BYTES, Math.floor(bytes / 4)), text: formatByteSize(bytes) };
}

/** After a run's processes were told to end, how long the pipes of its output may stay open before they are dropped. */
export const KEEPER_END_MS = 7_000;

/**
 * A run's log keeper in the watcher: the task's output pipes, read by the watcher's own loop (no process of its own,
 * which every run would pay for), into its log under the node's cap (log-file.ts, log-cap.ts).
 */
export interface LogKeeper {
  /** Reads `stream` (a pipe of the task's) into the log to its end; `also` is given each chunk too. */
  follow(stream: Readable, also?: (chunk: Buffer) => void): void;
  /**
   * Once every stream followed has ended, or `ms` have passed (a process that left the task's group still holds a
   * pipe: it is read no more), writes the count of what was dropped and the output's end, closes the log, and says
   * what it did not keep of the output (null: all of it).
   */
  finish(ms?: number): Promise<LogLoss | null>;
}

/**
 * The keeper of the shell, icecc and claude runners' logs. A task printing without end costs the watcher's loop one
 * read of each 64 KiB and, past the cap, a copy into the ring that holds the output's end; it is never paused, so
 * the task is never blocked for its printing longer than the loop takes to come round.
 */
export function keepLog(logPath: string, cap: LogCap): LogKeeper {
  const log = new CappedLog(logPath, cap);
  const open = new Set<Readable>();
  let allEnded: (() => void) | undefined;
  const ended = (stream: Readable) => {
    if (open.delete(stream) && open.size === 0) allEnded?.();
  };
  return {
    follow(stream, also) {
      open.add(stream);
      stream.on('data', (chunk: Buffer) => {
        log.take(chunk);
        also?.(chunk);
      });
      stream.once('end', () => ended(stream));
      stream.once('close', () => ended(stream));
      // A pipe that fails ends the output it brings; the task is the runner's to judge, not the keeper's.
      stream.on('error', () => ended(stream));
    },
    async finish(ms = KEEPER_END_MS) {
      if (open.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          allEnded = resolve;
          timer = setTimeout(resolve, ms);
        });
        clearTimeout(timer);
      }
      for (const stream of open) stream.destroy();
      open.clear();
      return log.end();
    },
  };
}

/** The script of the keeper tmux's pipe-pane runs (pipe-log-keeper.ts, as tsc built it). */
const PIPE_KEEPER = 'pipe-log-keeper.js';

/**
 * Where the keeper's script is: dist/watcher/runners/ of this package, shipped as tsc built it (package.json
 * "files": dist). That is beside this module when it runs from tsc's output, ../watcher/runners/ from the bundles in
 * dist/cli/ (whose import.meta.dirname is dist/cli/: scripts/import-meta.mjs), and dist/watcher/runners/ of the
 * checkout when it runs from its sources (the tests). Null when none has it: an install without its dist/.
 */
export function pipeKeeperScript(here: string = import.meta.dirname): string | null {
  for (const dir of ['.', '../watcher/runners', '../../dist/watcher/runners']) {
    const path = join(here, dir, PIPE_KEEPER);
    if (existsSync(path)) return path;
  }
  return null;
}

/**
 * The command line of the keeper tmux's pipe-pane runs (pipe-log-keeper.ts): this Node, the script, and its
 * arguments; it writes its counts to `statusPath` once its pipe ends.
 */
export function keeperArgv(script: string, logPath: string, cap: LogCap, statusPath: string): string[] {
  return [process.execPath, script, logPath, String(cap.bytes), String(cap.end), cap.text, statusPath];
}

/**
 * The status the tmux keeper left in a file: read bounded, a regular file only, since the logs folder is one a task
 * may write to. Undefined when there is none, or it is no status.
 */
export function readKept(statusPath: string): LogLoss | null | undefined {
  const opened = openRegularFile(statusPath);
  if (!opened) return undefined;
  try {
    const buf = Buffer.alloc(Math.min(opened.size, STATUS_MAX));
    const n = readSync(opened.fd, buf, 0, buf.length, 0);
    return keptStatus(buf.subarray(0, n).toString('utf8'));
  } catch {
    return undefined;
  } finally {
    closeSync(opened.fd);
  }
}

/** Two keepers' losses in one log (a project's setup, then the task). Pure. */
export function addLoss(a: LogLoss | null | undefined, b: LogLoss | null | undefined): LogLoss | undefined {
  if (!a) return b ?? undefined;
  if (!b) return a;
  const error = b.error ?? a.error;
  return { dropped: a.dropped + b.dropped, unwritten: a.unwritten + b.unwritten, ...(error ? { error } : {}) };
}
