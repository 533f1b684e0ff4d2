import { GitbusError } from '../schemas/errors.js';
import { exitCodeFor } from './exit-codes.js';
import { visibleText } from '../schemas/output-text.js';

/** The only module that writes to the terminal. */
export interface OutputOptions {
  json?: boolean;
}

export function emit(opts: OutputOptions, value: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else {
    // Human output quotes bus content (titles, reasons, file text) that anyone with push access wrote: its control
    // characters are shown, never obeyed, so it cannot move the cursor, retitle the window or hide part of a line
    // from the person reading it (task output is made terminal text before it gets here, and has none left).
    const text = visibleText(human());
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

/** The stream the guard below was added to: a served command's standby gets a new process.stderr (cli/serve/). */
let stderrGuarded: unknown;

/**
 * Writes to standard error. A reader of it that went away (`gitbus watch 2>&1 | head`, a closed log pipe) ends
 * nothing: what is left for stderr is dropped and the command goes on and exits with its own code. The handler is
 * added at the first write, since making process.stderr's stream costs a command that prints no error.
 */
export function writeErr(text: string): void {
  if (stderrGuarded !== process.stderr) {
    stderrGuarded = process.stderr;
    process.stderr.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
  process.stderr.write(text);
}

export function note(text: string): void {
  writeErr(`${text}\n`);
}

/** Reports an error in the mode the command runs in and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const code = exitCodeFor(err);
  if (err instanceof GitbusError) {
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message.split('\n')[0], fix: err.fix, data: err.data } }, null, 2)}\n`);
    writeErr(`gitbus: ${visibleText(err.message)}\n`);
  } else {
    const e = err instanceof Error ? err : new Error(String(err));
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: 'INTERNAL', message: e.message, fix: 'this is a bug in gitbus; please report it with the command you ran' } }, null, 2)}\n`);
    writeErr(`gitbus: internal error: ${e.stack ?? e.message}\n`);
  }
  return code;
}
