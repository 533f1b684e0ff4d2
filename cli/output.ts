import { GitbusError } from '../schemas/errors.js';
import { exitCodeFor } from './exit-codes.js';
import { visibleText } from '../schemas/output-text.js';
import { writeStd } from './std-write.js';

/** The only module that writes to the terminal. */
export interface OutputOptions {
  json?: boolean;
}

export function emit(opts: OutputOptions, value: unknown, human: () => string): void {
  if (opts.json) writeOut(`${JSON.stringify(value, null, 2)}\n`);
  else {
    // Human output quotes bus content (titles, reasons, file text) that anyone with push access wrote: its control
    // characters are shown, never obeyed, so it cannot move the cursor, retitle the window or hide part of a line
    // from the person reading it (task output is made terminal text before it gets here, and has none left).
    const text = visibleText(human());
    if (text) writeOut(text.endsWith('\n') ? text : `${text}\n`);
  }
}

/**
 * Writes to standard output (cli/std-write.ts: without making process.stdout's stream). A reader that went away
 * (`gitbus logs | head -1`) is a normal end, not a crash with a stack trace: the command exits quietly.
 */
export function writeOut(text: string | Uint8Array): void {
  writeStd('stdout', text);
}

/**
 * Writes to standard error. A reader of it that went away (`gitbus watch 2>&1 | head`, a closed log pipe) ends
 * nothing: what is left for stderr is dropped and the command goes on and exits with its own code.
 */
export function writeErr(text: string): void {
  writeStd('stderr', text);
}

export function note(text: string): void {
  writeErr(`${text}\n`);
}

/** Reports an error in the mode the command runs in and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const code = exitCodeFor(err);
  if (err instanceof GitbusError) {
    if (json) writeOut(`${JSON.stringify({ error: { code: err.code, message: err.message.split('\n')[0], fix: err.fix, data: err.data } }, null, 2)}\n`);
    writeErr(`gitbus: ${visibleText(err.message)}\n`);
  } else {
    const e = err instanceof Error ? err : new Error(String(err));
    if (json) writeOut(`${JSON.stringify({ error: { code: 'INTERNAL', message: e.message, fix: 'this is a bug in gitbus; please report it with the command you ran' } }, null, 2)}\n`);
    writeErr(`gitbus: internal error: ${e.stack ?? e.message}\n`);
  }
  return code;
}
