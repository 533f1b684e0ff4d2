import type { BusContext } from '../bus/context.js';
import { isFinal } from '../bus/model/types.js';
import { LOG_TAIL_BYTES, readLogBytes, taskOutput, type OutputOptions, type TaskOutput } from '../bus/ops/task-output.js';
import { newOutput, outputChange, type OutputChange } from '../bus/ops/output-change.js';
import { terminalText } from '../schemas/output-text.js';
import { outputView } from './output-view.js';
import { ClaudeLogFormatter } from './runners/claude-format.js';

/**
 * What one read of a task's output added to what was shown: for a page, which can replace what it shows
 * (`change`); for a terminal, which can only print more (`printed`: a line redrawn in place is printed again on a
 * line of its own, as `newOutput` says).
 */
export interface OutputStep {
  change: OutputChange;
  printed: string;
  /**
   * A line for the reader, not part of the output: where bytes of the log were left out (more than a window came in
   * between two reads). A terminal prints it on stderr, beside the output on stdout, which stays what the task wrote.
   */
  note?: string;
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
  /** The byte after the last one shown: `lineEnd`, or past it when the line still being written was shown. */
  shownEnd: number;
  /** What was shown of that line still being written (a progress bar may redraw it before it ends). */
  partial: string;
  /** A claude run's lines made readable, with what they taught it (tool names by id) kept from read to read. */
  claude: ClaudeLogFormatter | null;
}

/**
 * What a follower did not show of this node's log of a run (`path`, `bytes` long at its last read): its start,
 * before the window read first (`first`), and what came in between two reads beyond a window (`between`: the
 * follower reads on from where it stopped, at most LOG_TAIL_BYTES, so a log that grew by more is shown from its
 * window, and the output says so where the bytes were left out).
 */
export interface LogNotShown {
  path: string;
  bytes: number;
  first: number;
  between: number;
}

/**
 * One follower of a task's output, read after read (`logs --follow`, `dispatch --wait` and MCP `wait` through
 * watcher/wait-for-task.ts, the web view's web/output-follow.ts), as `outputView` shows it. This node's own log of
 * the run is read on by position from where the last read stopped (`readLogBytes`); the other sources — a heartbeat's
 * 4 KiB tail, a response — carry no position, so their text is matched against what was shown (`outputChange`,
 * `newOutput`), and output there that repeats itself at the window's size can still be taken for nothing new.
 */
export class OutputFollower {
  private text = '';
  private cursor: LogCursor | null = null;
  private notShown: LogNotShown | null = null;
  /**
   * Where in this node's log the text last sent whole to a page (a reset) begins; null when it is not that log's.
   * `cut`: the text kept since then (`shown`) lost its start to the LOG_TAIL_BYTES limit.
   */
  private textFrom: { path: string; at: number; cut: boolean } | null = null;
  private started = false;

  /** `raw`: a claude run's stream-json as it was logged (`logs --raw`), not made readable. */
  constructor(private readonly raw = false) {}

  /** The end of what was shown, at most LOG_TAIL_BYTES characters: what a page that joins is sent. */
  get shown(): string {
    return this.text;
  }

  /**
   * For a page, which is sent `shown` when it joins and the whole text at each reset: how many bytes of this node's
   * log come before that text, and where all of it is; null when none do (or the output is not that log's). Once
   * the text kept lost its start to the LOG_TAIL_BYTES limit, its own length in bytes says where it begins: exact for
   * plain text; for a claude run's lines made readable, shorter than the log they come from, more than is left out
   * (`about`).
   */
  get logBefore(): { path: string; bytes: number; about: boolean } | null {
    const from = this.textFrom;
    const cursor = this.cursor;
    if (!from || !cursor || cursor.path !== from.path) return null;
    const bytes = from.cut ? Math.max(from.at, cursor.shownEnd - Buffer.byteLength(this.text)) : from.at;
    return bytes > 0 ? { path: from.path, bytes, about: from.cut && cursor.claude !== null } : null;
  }

  /** What it did not show of the log of this node it follows; null while it follows none (`truncationNote`). */
  get logNotShown(): LogNotShown | null {
    return this.notShown && { ...this.notShown };
  }

  /**
   * What `out` adds. With `textRead` false, `out` came from `taskOutput(…, { logText: false })`, which looked at
   * this node's log without reading it: null then when the log went away before it could be read here, and the
   * caller reads the task's output again with its text.
   */
  next(out: TaskOutput): OutputStep;
  next(out: TaskOutput, textRead: boolean): OutputStep | null;
  next(out: TaskOutput, textRead = true): OutputStep | null {
    const first = !this.started;
    const prev = this.text;
    const onLog = out.source === 'local' && out.log ? this.readOn(out, out.log.path, first) : null;
    if (onLog) {
      this.started = true;
      const all = onLog.change.reset ? onLog.change.text : prev + onLog.change.text;
      this.text = lastChars(all, LOG_TAIL_BYTES);
      if (this.textFrom && this.text.length < all.length) this.textFrom.cut = true;
      return onLog;
    }
    if (!textRead && out.source === 'local') return null;
    this.started = true;
    // A heartbeat's or a response's text is a window onto the end of the output, with no position to go on from:
    // one that does not follow what was shown (a redrawn progress bar, a window that slid past it) replaces it.
    const view = outputView(out, this.raw);
    this.cursor = null;
    this.notShown = null;
    this.textFrom = null;
    this.text = view;
    return first ? { change: { reset: true, text: view }, printed: view } : { change: outputChange(prev, view), printed: newOutput(prev, view) };
  }

  /**
   * The log at `path` read on from the cursor (the whole window the first time, for a new attempt's log, or when it
   * grew by more than a window since), as `outputView` shows it: a claude run's lines readable, a line still being
   * written only once the run ended. Null when the log went away meanwhile.
   */
  private readOn(out: TaskOutput, path: string, first: boolean): OutputStep | null {
    const cursor = this.cursor;
    const same = cursor !== null && cursor.path === path;
    const read = readLogBytes(path, LOG_TAIL_BYTES, same ? cursor.lineEnd : undefined);
    if (!read) return null;
    const on = same && read.log.skipped === cursor.lineEnd;
    // Terminal text is made line by line, so the text of whole lines read apart is the text of them read together.
    const lineEnd = read.bytes.lastIndexOf(0x0a) + 1;
    const whole = terminalText(read.bytes.subarray(0, lineEnd));
    const rest = terminalText(read.bytes.subarray(lineEnd));
    const claude = !this.raw && out.runner === 'claude' ? (on && cursor.claude ? cursor.claude : new ClaudeLogFormatter()) : null;
    const lines = claude ? claude.push(whole) : whole;
    const partial = claude ? (isFinal(out.state) ? claude.push(rest) + claude.end() : '') : rest;
    // A claude run's line still being written is shown only once the run ended (it may be half a JSON event).
    const shownEnd = read.log.skipped + (claude && !isFinal(out.state) ? lineEnd : read.bytes.length);
    this.cursor = { path, lineEnd: read.log.skipped + lineEnd, shownEnd, partial, claude };
    const text = lines + partial;
    const prev = this.text;
    // Grown by more than a window since the last read: the bytes between the last one shown and the window are not.
    const grown = same && !on && read.log.bytes >= cursor.lineEnd;
    const skipped = grown ? Math.max(0, read.log.skipped - cursor.shownEnd) : 0;
    const before = this.notShown?.path === path ? this.notShown : null;
    this.notShown = before && (on || grown) ? { ...before, bytes: read.log.bytes, between: before.between + skipped } : { path, bytes: read.log.bytes, first: read.log.skipped, between: 0 };
    // Every step below but a line's continuation or redraw sends a page the text read, which begins where it was read.
    const fromRead = () => (this.textFrom = { path, at: read.log.skipped, cut: false });
    if (first) {
      fromRead();
      return { change: { reset: true, text }, printed: text };
    }
    // After other text (the heartbeat's, another attempt's log): compared with it, having no position in it.
    if (!same) {
      fromRead();
      return { change: outputChange(prev, text), printed: newOutput(prev, text) };
    }
    // The same log that does not go on from the position: what it holds now replaces what was shown; a terminal
    // prints it after what it printed. Where bytes were left out, a terminal, on which the window's text would
    // follow what it printed as if nothing came between, says so in a note (a page is sent the window alone, as a
    // page that joins is, and logBefore says how much came before it).
    if (grown) {
      fromRead();
      return { change: { reset: true, text }, printed: lineBreak(prev) + text, ...(skipped > 0 ? { note: skippedLine(skipped, path) } : {}) };
    }
    // Written anew (shorter than the position): none of what was shown is in it any more.
    if (!on) {
      fromRead();
      return { change: { reset: true, text }, printed: lineBreak(prev) + text };
    }
    // `text` starts with the line that was still being written: what was shown of it, then more, or it was redrawn.
    if (text.startsWith(cursor.partial)) {
      const more = text.slice(cursor.partial.length);
      return { change: { reset: false, text: more }, printed: more };
    }
    const kept = prev.endsWith(cursor.partial) ? prev.slice(0, prev.length - cursor.partial.length) : '';
    return { change: { reset: true, text: kept + text }, printed: lineBreak(prev) + text };
  }
}

/**
 * One read of a follower: `looked` is `taskOutput(…, { logText: false })`, which told where the task stands and
 * looked at this node's log without reading it, and the follower reads that log on from where it stopped. When the
 * log went away in between, the output is read again, text and all, from wherever it is known now (`opts`: as
 * `taskOutput` takes them). What `looked` or that read said, and what the follower adds.
 */
export async function followOn(ctx: BusContext, looked: TaskOutput, follower: OutputFollower, opts: Omit<OutputOptions, 'logText'> = {}): Promise<{ out: TaskOutput; step: OutputStep }> {
  const step = follower.next(looked, false);
  if (step) return { out: looked, step };
  const out = await taskOutput(ctx, looked.id, opts);
  return { out, step: follower.next(out) };
}

/** The line a terminal gets where a follower left out `bytes` of the log at `path`: more than a window came in between two reads. */
function skippedLine(bytes: number, path: string): string {
  return `gitbus: ${bytes} bytes of output not shown here (more than ${LOG_TAIL_BYTES / (1024 * 1024)} MB came in between two reads); all of it is in ${path}\n`;
}

/** What a terminal prints before new text after `prev`: a line of its own, unless `prev` ended one. */
function lineBreak(prev: string): string {
  return prev === '' || prev.endsWith('\n') ? '' : '\n';
}

/** The end of `text`, at most `max` characters, from a line start when one is in it. */
function lastChars(text: string, max: number): string {
  if (text.length <= max) return text;
  const from = text.length - max;
  const nl = text.indexOf('\n', from);
  return nl >= 0 && nl < text.length - 1 ? text.slice(nl + 1) : text.slice(from);
}
