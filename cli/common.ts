import { closeSync, openSync, readSync } from 'node:fs';
import { MAX_FILE_BYTES } from '../schemas/field-limits.js';
import type { Command } from 'commander';
import { openBus, type BusContext } from '../bus/context.js';
import { resolveHome } from '../bus/home.js';
import { InputError } from '../bus/errors.js';
import { note, reportError } from './output.js';
import { ago } from './format.js';
import { deliverQueued } from '../bus/ops/deliver.js';
import { listQueue } from '../bus/queue.js';
import { outageCode } from '../bus/remote-failure.js';
import type { Offline } from '../bus/ops/query.js';
import { asLocalFailure } from '../bus/local-io.js';
import { readFailure } from './read-failure.js';

export interface CommonOptions {
  home?: string;
  json?: boolean;
}

/** Adds the options every command has. */
export function withCommon(cmd: Command): Command {
  return cmd.option('--home <dir>', 'bus home of this node (default: $GITBUS_HOME or ~/.gitbus)').option('--json', 'print one JSON document on stdout, for scripts');
}

/** Reads `--body-file F`, where `-` is standard input. */
/**
 * A `--body-file` (`-`: standard input), read to at most what one bus file holds (MAX_FILE_BYTES) and one byte more
 * to tell: a task's or a result's text goes into one file, and /dev/zero, or a pipe that never ends, read whole
 * grew until the process was killed for memory. Bytes past the cap are never read. Synchronous, as the whole file
 * was read before: a dispatch loads neither node:fs/promises nor a stdin stream (test/e2e/cli-startup-node.test.ts).
 */
export function readBodyFile(file: string): string {
  let read: { bytes: Buffer; more: boolean };
  try {
    const fd = file === '-' ? 0 : openSync(file, 'r');
    try {
      read = readFdAtMost(fd, MAX_FILE_BYTES);
    } finally {
      if (fd !== 0) closeSync(fd);
    }
  } catch (err) {
    throw new InputError(readFailure(file, err), 'give a readable file, or - for standard input', { flag: '--body-file' });
  }
  if (read.more) {
    throw new InputError(`--body-file: ${file === '-' ? 'standard input' : file} is more than ${MAX_FILE_BYTES / 1024} KiB, what one bus file holds`, 'put the long part in a file of the project (or a log) and name it in the text', { flag: '--body-file' });
  }
  return read.bytes.toString('utf8');
}

/**
 * At most `limit` bytes of `fd`, and whether there were more. A pipe left non-blocking by whoever made it answers
 * EAGAIN while it is empty: waited for, as a blocking read would (a few milliseconds at a time).
 */
function readFdAtMost(fd: number, limit: number): { bytes: Buffer; more: boolean } {
  const chunks: Buffer[] = [];
  let size = 0;
  while (size <= limit) {
    const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, limit + 1 - size));
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      continue;
    }
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    size += n;
  }
  const all = Buffer.concat(chunks);
  return size > limit ? { bytes: all.subarray(0, limit), more: true } : { bytes: all, more: false };
}

/**
 * Every command is a contact with the remote: changes queued while it could not be reached go out first
 * (bus/queue.ts). Said on stderr only when something happened; an outage here is the command's to report.
 */
async function deliverQueuedQuietly(ctx: BusContext): Promise<void> {
  if (listQueue(ctx.paths.home).length === 0) return;
  try {
    const d = await deliverQueued(ctx);
    if (d.delivered.length > 0) note(`gitbus: delivered ${d.delivered.length} queued change${d.delivered.length === 1 ? '' : 's'} (${d.delivered.map((e) => `${e.kind} ${e.id}`).join(', ')})`);
    for (const r of d.rejected) note(`gitbus: warning: queued ${r.entry.kind} ${r.entry.id} was refused: ${r.reason} (kept in ${r.path})`);
  } catch (err) {
    if (outageCode(err) === null) throw err;
  }
}

/** The warning shown above what a reading command prints while the remote cannot be reached. */
export function offlineNote(offline: Offline | null): void {
  if (!offline) return;
  const age = offline.lastContact ? `as this node last saw it ${ago(offline.lastContact)}` : 'as this node last saw it';
  note(`gitbus: warning: the remote cannot be reached (${offline.reason}); showing the bus ${age}`);
}

/**
 * Runs a command body with the node's bus open and turns errors into exit codes; the only place commands exit.
 */
export async function run(opts: CommonOptions, body: (home: string) => Promise<void>): Promise<void> {
  const home = resolveHome(opts.home);
  try {
    await body(home);
  } catch (err) {
    // A full disk or a failing file system is the machine's failure, not a bug: say so, with the path.
    process.exitCode = reportError(asLocalFailure(err, home), Boolean(opts.json));
  }
}

export async function withBus(opts: CommonOptions, body: (ctx: BusContext) => Promise<void>, actor?: string, deliver = true): Promise<void> {
  await run(opts, async (home) => {
    const ctx = await openBus(home, actor);
    try {
      // `deliver` false: the command sends the queue itself (dispatch), so a second round trip is saved.
      if (deliver) await deliverQueuedQuietly(ctx);
      await body(ctx);
    } finally {
      await ctx.repo.close();
    }
  });
}
