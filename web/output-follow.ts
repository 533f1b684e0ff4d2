import type { BusContext } from '../bus/context.js';
import { isFinal } from '../bus/model/types.js';
import { LOG_TAIL_BYTES, readLogBytes, taskOutput, type TaskOutput } from '../bus/ops/task-output.js';
import { outputChange, type OutputChange } from '../bus/ops/output-change.js';
import { GitbusError, firstLine } from '../schemas/errors.js';
import { terminalText } from '../schemas/output-text.js';
import { outputView } from '../watcher/output-view.js';
import { ClaudeLogFormatter } from '../watcher/runners/claude-format.js';

/** What an output stream tells a page: the text so far (`reset`) or what came after it, and the end. */
export type OutputEvent =
  | { type: 'output'; reset: boolean; text: string; state: string; node: string | null; attempt: number | null; source: TaskOutput['source'] }
  | { type: 'end'; state: string }
  | { type: 'error'; code: string; message: string };

interface Follower {
  listeners: Set<(e: OutputEvent) => void>;
  /** What the pages following it show (its end, at most LOG_TAIL_BYTES characters): a page that joins gets it. */
  shown: string;
  last: Extract<OutputEvent, { type: 'output' }> | null;
  running: boolean;
  /** Where this node's log of the run was read up to, while the text comes from it. */
  cursor: LogCursor | null;
}

/**
 * A position in this node's log of a run. The log only grows, so what is new is what follows the position: a
 * window matched against the text shown would take output that repeats itself (the same lines again, a block as
 * long as the window) for nothing new, or show it twice.
 */
interface LogCursor {
  path: string;
  /** The byte after the last whole line read: the next read starts there, so a line still being written is read whole. */
  lineEnd: number;
  /** What was shown of that line still being written (a progress bar may redraw it before it ends). */
  partial: string;
  /** A claude run's lines made readable, with what they taught it (tool names by id) kept from read to read. */
  claude: ClaudeLogFormatter | null;
}

/**
 * A task's output as `gitbus logs --follow` shows it (bus/ops/task-output.ts, watcher/output-view.ts): read once a
 * second until the task ends, each time only what is new sent on. One reader per task however many pages follow
 * it; a page that joins gets the text so far first.
 */
export class OutputFollowers {
  private readonly followers = new Map<string, Follower>();
  private stopped = false;

  constructor(
    private readonly ctx: BusContext,
    private readonly intervalMs = 1000,
  ) {}

  follow(ref: string, fn: (e: OutputEvent) => void): () => void {
    let f = this.followers.get(ref);
    if (!f) {
      f = { listeners: new Set(), shown: '', last: null, running: false, cursor: null };
      this.followers.set(ref, f);
    }
    f.listeners.add(fn);
    if (f.last) fn({ ...f.last, reset: true, text: f.shown });
    if (!f.running) {
      const follower = f;
      this.run(ref, f).catch((err: unknown) => this.emit(follower, { type: 'error', code: 'INTERNAL', message: firstLine(err) }));
    }
    const follower = f;
    return () => {
      follower.listeners.delete(fn);
    };
  }

  stop(): void {
    this.stopped = true;
  }

  private emit(f: Follower, e: OutputEvent): void {
    for (const fn of [...f.listeners]) {
      try {
        fn(e);
      } catch {
        // a closed stream
      }
    }
  }

  private async run(ref: string, f: Follower): Promise<void> {
    f.running = true;
    try {
      while (!this.stopped && f.listeners.size > 0) {
        let out: TaskOutput;
        try {
          out = await taskOutput(this.ctx, ref);
        } catch (err) {
          this.emit(f, { type: 'error', code: err instanceof GitbusError ? err.code : 'INTERNAL', message: firstLine(err) });
          return;
        }
        const first = f.last === null;
        const onLog = out.source === 'local' && out.log ? readOn(f.cursor, out, f.shown, first) : null;
        let change: OutputChange;
        if (onLog) {
          ({ change, cursor: f.cursor } = onLog);
          f.shown = lastChars(change.reset ? change.text : f.shown + change.text, LOG_TAIL_BYTES);
        } else {
          // A heartbeat's or a response's text is a window onto the end of the output, with no position to go on
          // from: one that does not follow what was sent (a redrawn progress bar, a window that slid past it) replaces it.
          const view = outputView(out);
          change = first ? { reset: true, text: view } : outputChange(f.shown, view);
          f.cursor = null;
          f.shown = view;
        }
        const facts = { state: out.state, node: out.node, attempt: out.attempt, source: out.source };
        const moved = f.last !== null && (f.last.state !== out.state || f.last.node !== out.node || f.last.attempt !== out.attempt);
        f.last = { type: 'output', reset: false, text: '', ...facts };
        if (change.reset || change.text || moved) this.emit(f, { type: 'output', ...change, ...facts });
        if (isFinal(out.state)) {
          this.emit(f, { type: 'end', state: out.state });
          return;
        }
        await new Promise((r) => setTimeout(r, this.intervalMs));
      }
    } finally {
      f.running = false;
      // The next page to follow it starts afresh (the task may have ended, or been archived, meanwhile).
      if (this.followers.get(ref) === f) this.followers.delete(ref);
    }
  }
}

/**
 * This node's log of the run read on from `cursor` (the whole window the first time, for a new attempt's log, or
 * when it grew by more than a window since), as `outputView` shows it: a claude run's lines readable, a line still
 * being written only once the run ended. Null when the log went away meanwhile: the text taskOutput read stands.
 */
function readOn(cursor: LogCursor | null, out: TaskOutput, shown: string, first: boolean): { change: OutputChange; cursor: LogCursor } | null {
  if (!out.log) return null;
  const path = out.log.path;
  const same = cursor !== null && cursor.path === path;
  const read = readLogBytes(path, LOG_TAIL_BYTES, same ? cursor.lineEnd : undefined);
  if (!read) return null;
  const on = same && read.log.skipped === cursor.lineEnd;
  // Terminal text is made line by line, so the text of whole lines read apart is the text of them read together.
  const lineEnd = read.bytes.lastIndexOf(0x0a) + 1;
  const whole = terminalText(read.bytes.subarray(0, lineEnd));
  const rest = terminalText(read.bytes.subarray(lineEnd));
  const claude = out.runner === 'claude' ? (on && cursor.claude ? cursor.claude : new ClaudeLogFormatter()) : null;
  const lines = claude ? claude.push(whole) : whole;
  const partial = claude ? (isFinal(out.state) ? claude.push(rest) + claude.end() : '') : rest;
  const next: LogCursor = { path, lineEnd: read.log.skipped + lineEnd, partial, claude };
  const text = lines + partial;
  if (!on) {
    // The same log that does not go on from the position (it grew by more than a window since, or was written anew)
    // replaces what was shown; a log after other text (the heartbeat's, another attempt's log) is compared with it.
    return { change: first || same ? { reset: true, text } : outputChange(shown, text), cursor: next };
  }
  // `text` starts with the line that was still being written: what was shown of it, then more, or it was redrawn.
  if (text.startsWith(cursor.partial)) return { change: { reset: false, text: text.slice(cursor.partial.length) }, cursor: next };
  const kept = shown.endsWith(cursor.partial) ? shown.slice(0, shown.length - cursor.partial.length) : '';
  return { change: { reset: true, text: kept + text }, cursor: next };
}

/** The end of `text`, at most `max` characters, from a line start when one is in it. */
function lastChars(text: string, max: number): string {
  if (text.length <= max) return text;
  const from = text.length - max;
  const nl = text.indexOf('\n', from);
  return nl >= 0 && nl < text.length - 1 ? text.slice(nl + 1) : text.slice(from);
}
