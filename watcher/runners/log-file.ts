import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import type { LogLoss } from '../../bus/ops/response-sections.js';
import { LogCapper, type LogCap, type LogPiece } from './log-cap.js';

/**
 * A task's log opened for its output, under its cap: it writes what the log's LogCapper (log-cap.ts) decides, and
 * counts what the disk refuses rather than failing on it, so that a task printing onto a full disk is read on all the
 * same and never meets a broken pipe. The I/O of both keepers: the watcher's own (log-keeper.ts) and tmux's
 * (pipe-log-keeper.ts). Writes are synchronous: a piece is at most one read of a pipe (64 KiB), and only the start
 * up to the cap is written as it comes.
 */
export class CappedLog {
  private readonly capper: LogCapper;
  private fd = -1;

  constructor(path: string, cap: LogCap) {
    let size = 0;
    let error: unknown;
    try {
      this.fd = openSync(path, 'a');
      size = fstatSync(this.fd).size;
    } catch (err) {
      error = err;
      this.close();
    }
    this.capper = new LogCapper(cap, size);
    // A log that cannot be opened takes nothing: all the output is counted as unwritten, with the reason.
    if (error !== undefined) this.capper.refused(NO_PIECE, 0, codeOf(error));
  }

  /** The next chunk of the task's output. */
  take(chunk: Buffer): void {
    this.write(this.capper.take(chunk));
  }

  /** Once the output has ended: writes the count of what was dropped and the output's end, closes the log, and says what it did not keep. */
  end(): LogLoss | null {
    this.write(this.capper.end());
    this.close();
    return this.capper.loss();
  }

  private write(pieces: readonly LogPiece[]): void {
    for (const piece of pieces) {
      if (this.capper.refusing) {
        this.capper.refused(piece, 0, 'EIO');
        continue;
      }
      let at = 0;
      try {
        while (at < piece.bytes.length) at += writeSync(this.fd, piece.bytes, at, piece.bytes.length - at);
      } catch (err) {
        this.capper.refused(piece, at, codeOf(err));
      }
    }
  }

  private close(): void {
    if (this.fd < 0) return;
    try {
      closeSync(this.fd);
    } catch {
      // Nothing more is written to it either way.
    }
    this.fd = -1;
  }
}

const NO_PIECE: LogPiece = { bytes: Buffer.alloc(0), output: false };

function codeOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'EIO';
}
