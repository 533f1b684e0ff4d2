// The cap on a task's log, as a pure core: given the output in chunks, what to write and what to hold, the notes,
// and the counts. No I/O: the watcher's own keeper (log-keeper.ts) and the one tmux's pipe-pane runs
// (pipe-log-keeper.ts) write what it decides and tell it what the disk refused.
import type { LogLoss } from '../../bus/ops/response-sections.js';

/**
 * How much of a task's output its log keeps: `bytes` in all (node.yaml `maxLogSize`), of which the output's last
 * `end` bytes are held back while it runs and written after the line that says how much was dropped.
 */
export interface LogCap {
  bytes: number;
  end: number;
  /** The cap as node.yaml spells it, for the log's notes. */
  text: string;
}

/** Bytes to write to the log, in order: the task's output (`output`, counted when refused) or a note of gitbus's. */
export interface LogPiece {
  bytes: Buffer;
  output: boolean;
}

/** What the cap leaves room for besides the output: its two notes. */
const NOTES_ROOM = 1024;
const NL = 10;
const NOTHING: readonly LogPiece[] = Object.freeze([]);
const ERRNO_CODE_RE = /^[A-Z0-9_]{1,30}$/;

/** Whether the byte continues a UTF-8 character (10xxxxxx): a cut there would split one. */
const continues = (byte: number | undefined) => byte !== undefined && (byte & 0xc0) === 0x80;

/**
 * One log's cap, from the size the log has when the output starts (a project's setup and the task share a cap). The
 * output's start is written as it comes, up to the cap less the end's and the notes' room; past it, one note says
 * that what follows is dropped, and the output's last `cap.end` bytes are held in a ring, so that the task is never
 * stopped or blocked for printing and its last lines still end the log; `end()` gives the line with the exact count
 * of bytes dropped and that end, from a line start.
 */
export class LogCapper {
  private readonly headRoom: number;
  private readonly endRoom: number;
  private ring: Buffer | undefined;
  private ringEnd = 0;
  private ringLen = 0;
  private head = 0;
  private dropped = 0;
  private unwritten = 0;
  private error = '';
  private last = NL;
  private noted = false;
  private ended = false;

  constructor(private readonly cap: LogCap, logSize: number) {
    const budget = Math.max(0, cap.bytes - logSize);
    this.endRoom = Math.min(cap.end, Math.max(0, budget - NOTES_ROOM));
    this.headRoom = Math.max(0, budget - NOTES_ROOM - this.endRoom);
  }

  /** What to write of the next chunk of output now (the rest is held, or dropped and counted). */
  take(chunk: Buffer): readonly LogPiece[] {
    if (this.ended || chunk.length === 0) return NOTHING;
    let rest = chunk;
    let out: LogPiece[] | undefined;
    if (this.head < this.headRoom) {
      let n = Math.min(this.headRoom - this.head, rest.length);
      if (n < rest.length) {
        // The start stops at a whole character, so that the note does not follow half of one.
        let k = n;
        while (k > 0 && k > n - 3 && continues(rest[k])) k--;
        if (!continues(rest[k])) n = k;
      }
      this.head = n < rest.length ? this.headRoom : this.head + n;
      out = n > 0 ? [this.piece(rest.subarray(0, n), true)] : [];
      rest = rest.subarray(n);
    }
    if (rest.length > 0) {
      this.hold(rest);
      if (this.dropped > 0 && !this.noted) {
        this.noted = true;
        (out ??= []).push(this.note(`the output reached the cap on this task's log (${this.cap.text}, maxLogSize in node.yaml): what follows is dropped, but for its end, which comes after a line saying how many bytes were dropped`));
      }
    }
    return out ?? NOTHING;
  }

  /** What to write once the output has ended: the count of bytes dropped, if any, and the end held. */
  end(): readonly LogPiece[] {
    if (this.ended) return NOTHING;
    this.ended = true;
    let end = this.held();
    const out: LogPiece[] = [];
    if (this.dropped > 0) {
      // The end starts inside a line (or a character): from the next line, unless nothing but that line is held.
      const nl = end.indexOf(NL);
      let skip = nl >= 0 && nl < end.length - 1 ? nl + 1 : 0;
      while (skip < end.length && continues(end[skip])) skip++;
      this.dropped += skip;
      end = end.subarray(skip);
      const follow = end.length > 0 ? `; its last ${end.length} bytes follow` : '';
      out.push(this.note(`${this.dropped} bytes of output were dropped here, past the cap on this task's log (${this.cap.text}, maxLogSize in node.yaml)${follow}`));
    }
    if (end.length > 0) out.push(this.piece(end, true));
    this.ring = undefined;
    return out;
  }

  /**
   * The log took only `written` bytes of `piece`, and refused the rest with `error` (an errno code such as ENOSPC):
   * output that is not in the log is counted, and nothing more is to be written (`refusing`).
   */
  refused(piece: LogPiece, written: number, error: string): void {
    if (piece.output) this.unwritten += piece.bytes.length - written;
    if (this.error === '') this.error = ERRNO_CODE_RE.test(error) ? error : 'EIO';
  }

  /** Whether the log has refused a write: what comes next is counted, not written. */
  get refusing(): boolean {
    return this.error !== '';
  }

  /** What the log did not keep of the output so far; null when it kept all of it. */
  loss(): LogLoss | null {
    if (this.dropped === 0 && this.unwritten === 0) return null;
    return { dropped: this.dropped, unwritten: this.unwritten, ...(this.unwritten > 0 ? { error: this.error } : {}) };
  }

  private piece(bytes: Buffer, output: boolean): LogPiece {
    if (bytes.length > 0) this.last = bytes[bytes.length - 1] ?? NL;
    return { bytes, output };
  }

  private note(text: string): LogPiece {
    return this.piece(Buffer.from(`${this.last === NL ? '' : '\n'}gitbus: ${text}\n`), false);
  }

  /** Keeps `b` as the end of the output so far: what the ring held before it and no longer can is dropped. */
  private hold(b: Buffer): void {
    const room = this.endRoom;
    if (room === 0) {
      this.dropped += b.length;
      return;
    }
    const ring = (this.ring ??= Buffer.alloc(room));
    if (b.length >= room) {
      this.dropped += this.ringLen + b.length - room;
      b.copy(ring, 0, b.length - room);
      this.ringEnd = 0;
      this.ringLen = room;
      return;
    }
    const over = this.ringLen + b.length - room;
    if (over > 0) {
      this.dropped += over;
      this.ringLen -= over;
    }
    const n = Math.min(b.length, room - this.ringEnd);
    b.copy(ring, this.ringEnd, 0, n);
    if (n < b.length) b.copy(ring, 0, n);
    this.ringEnd = (this.ringEnd + b.length) % room;
    this.ringLen += b.length;
  }

  /** The end held, oldest byte first. */
  private held(): Buffer {
    const ring = this.ring;
    if (!ring || this.ringLen === 0) return Buffer.alloc(0);
    const room = this.endRoom;
    const start = (this.ringEnd - this.ringLen + room) % room;
    return start + this.ringLen <= room ? ring.subarray(start, start + this.ringLen) : Buffer.concat([ring.subarray(start), ring.subarray(0, this.ringEnd)]);
  }
}

/** The most of a status that is read: a few numbers and a code. */
export const STATUS_MAX = 1000;

/** A keeper's counts as it hands them to the runner: `{"dropped":N,"unwritten":N,"error":"ENOSPC"}`. Pure. */
export function statusText(loss: LogLoss | null): string {
  return JSON.stringify({ dropped: loss?.dropped ?? 0, unwritten: loss?.unwritten ?? 0, error: loss?.error ?? '' });
}

/** A status statusText wrote, as a LogLoss: null when nothing was lost, undefined when it is no status. Pure. */
export function keptStatus(text: string): LogLoss | null | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text.slice(0, STATUS_MAX));
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const { dropped, unwritten, error } = doc as Record<string, unknown>;
  const count = (n: unknown) => (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined);
  const d = count(dropped);
  const u = count(unwritten);
  if (d === undefined || u === undefined) return undefined;
  if (d === 0 && u === 0) return null;
  return { dropped: d, unwritten: u, ...(u > 0 && typeof error === 'string' && ERRNO_CODE_RE.test(error) ? { error } : {}) };
}
