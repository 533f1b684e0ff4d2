import type { ClientChannel } from 'ssh2';

export interface ChannelEnd {
  exitCode: number | null;
  signal: string | null;
  stderr: string;
}

/**
 * Reads one git service's output from an exec channel: first its ref advertisement (pkt-lines up to the
 * flush), then everything else until the channel closes. Buffers are kept as chunks and joined once.
 */
export class ChannelReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private closed = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private stderrText = '';
  private exit: { code: number | null; signal: string | null } = { code: null, signal: null };
  /** When the advertisement was read and the exchange has not started yet (a parked channel). */
  readonly opened = Date.now();

  constructor(readonly channel: ClientChannel) {
    channel.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.size += d.length;
      this.notify();
    });
    channel.stderr.on('data', (d: Buffer) => {
      this.stderrText = (this.stderrText + d.toString('utf8')).slice(-8192);
    });
    channel.on('exit', (code: number | null, signal?: string) => {
      this.exit = { code: typeof code === 'number' ? code : null, signal: signal ?? null };
    });
    channel.on('error', (err: Error) => {
      this.error = err;
      this.notify();
    });
    channel.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get end(): ChannelEnd {
    return { exitCode: this.exit.code, signal: this.exit.signal, stderr: this.stderrText };
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private take(n: number): Buffer {
    const all = this.joined();
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    return head;
  }

  private waitForData(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  /**
   * The advertisement: pkt-lines up to and including the flush. Returns null when the channel closed first
   * (the service failed to start; see `end`).
   */
  async readAdvertisement(): Promise<Uint8Array | null> {
    let pos = 0;
    for (;;) {
      const all = this.joined();
      while (all.length >= pos + 4) {
        const len = parseInt(all.toString('latin1', pos, pos + 4), 16);
        if (Number.isNaN(len)) throw new Error(`the remote sent ${JSON.stringify(all.toString('latin1', pos, Math.min(all.length, pos + 40)))} where a pkt-line was expected`);
        if (len === 0) return new Uint8Array(this.take(pos + 4));
        if (len < 4) {
          pos += 4; // delim/response-end packets do not occur in v0 advertisements; skip them like git would fail later
          continue;
        }
        if (all.length < pos + len) break;
        pos += len;
      }
      if (this.error) throw this.error;
      if (this.closed) return null;
      await this.waitForData();
    }
  }

  /** Everything after the advertisement until the channel closes. */
  async readToEnd(): Promise<Uint8Array> {
    while (!this.closed) {
      if (this.error) throw this.error;
      await this.waitForData();
    }
    if (this.error) throw this.error;
    return new Uint8Array(this.take(this.size));
  }
}
