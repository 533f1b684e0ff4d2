import { GitbusError } from '../schemas/errors.js';
import { exitCodeFor } from './exit-codes.js';
import { terminalText } from '../schemas/output-text.js';

/** The only module that writes to the terminal. */
export interface OutputOptions {
  json?: boolean;
}

export function emit(opts: OutputOptions, value: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else {
    // Human output quotes bus content (titles, reasons, file text) that anyone with push access wrote: as
    // terminal text it cannot move the cursor, retitle the window or hide lines.
    const text = terminalText(human());
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Reports an error in the mode the command runs in and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const code = exitCodeFor(err);
  if (err instanceof GitbusError) {
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message.split('\n')[0], fix: err.fix, data: err.data } }, null, 2)}\n`);
    process.stderr.write(`gitbus: ${terminalText(err.message)}\n`);
  } else {
    const e = err instanceof Error ? err : new Error(String(err));
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: 'INTERNAL', message: e.message, fix: 'this is a bug in gitbus; please report it with the command you ran' } }, null, 2)}\n`);
    process.stderr.write(`gitbus: internal error: ${e.stack ?? e.message}\n`);
  }
  return code;
}
