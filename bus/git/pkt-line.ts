import { PktLineError } from './errors.js';
import { decodeUtf8, encodeUtf8 } from '../../schemas/utf8.js';

/**
 * git's pkt-line framing (gitprotocol-common): 4 hex digits giving the length of the whole packet including
 * those 4 digits, then the payload. Lengths 0000-0002 are special packets without payload.
 */

/** Largest whole packet git will send or accept (LARGE_PACKET_MAX). */
export const MAX_PKT_LENGTH = 65520;
/** Largest payload of one packet. */
export const MAX_PKT_PAYLOAD = MAX_PKT_LENGTH - 4;

export const FLUSH_PKT: Uint8Array = Uint8Array.of(0x30, 0x30, 0x30, 0x30); // "0000"
export const DELIM_PKT: Uint8Array = Uint8Array.of(0x30, 0x30, 0x30, 0x31); // "0001" (protocol v2)
export const RESPONSE_END_PKT: Uint8Array = Uint8Array.of(0x30, 0x30, 0x30, 0x32); // "0002" (protocol v2)

export type Pkt =
  | { readonly type: 'data'; readonly data: Uint8Array }
  | { readonly type: 'flush' }
  | { readonly type: 'delim' }
  | { readonly type: 'response-end' };


/** One data packet. Strings are sent as UTF-8; add the trailing "\n" yourself where the protocol wants one. */
export function encodePktLine(payload: string | Uint8Array): Uint8Array {
  const data = typeof payload === 'string' ? encodeUtf8(payload) : payload;
  if (data.length === 0) {
    // An empty data packet ("0004") is legal but git treats it as a flush in places; never send one.
    throw new RangeError('pkt-line payload must not be empty');
  }
  if (data.length > MAX_PKT_PAYLOAD) {
    throw new RangeError(`pkt-line payload of ${data.length} bytes exceeds the maximum of ${MAX_PKT_PAYLOAD}`);
  }
  const out = new Uint8Array(data.length + 4);
  out.set(encodeUtf8((data.length + 4).toString(16).padStart(4, '0')), 0);
  out.set(data, 4);
  return out;
}

/** Concatenate byte chunks (pkt-lines, a pack) into one request body. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const c of chunks) size += c.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A data packet's payload as text, without the optional trailing LF (clients must ignore it). */
export function pktText(data: Uint8Array): string {
  const text = decodeUtf8(data);
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}

/**
 * Reads pkt-lines one at a time from a complete buffer. Responses mix pkt-lines with raw data (upload-pack
 * sends the pack right after its last pkt-line without side-band), so the reader exposes its offset and the
 * rest of the buffer instead of insisting that everything is framed.
 */
export class PktLineReader {
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    offset = 0,
  ) {
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.buf.length;
  }

  /** The unread bytes, not copied. */
  rest(): Uint8Array {
    return this.buf.subarray(this.pos);
  }

  /** Whether the unread bytes start with `prefix` (e.g. "PACK"), without consuming anything. */
  startsWith(prefix: string): boolean {
    const p = encodeUtf8(prefix);
    if (this.buf.length - this.pos < p.length) return false;
    for (let i = 0; i < p.length; i++) if (this.buf[this.pos + i] !== p[i]) return false;
    return true;
  }

  /** The next packet; throws PktLineError on a bad length or a packet cut short. */
  next(): Pkt {
    const start = this.pos;
    if (this.buf.length - start < 4) {
      throw new PktLineError(
        this.atEnd() ? 'unexpected end of data, expected a pkt-line' : 'truncated pkt-line length',
        start,
      );
    }
    let len = 0;
    for (let i = 0; i < 4; i++) {
      const d = hexDigit(this.buf[start + i] ?? -1);
      if (d < 0) {
        const shown = decodeUtf8(this.buf.subarray(start, start + 4));
        throw new PktLineError(`invalid pkt-line length ${JSON.stringify(shown)}`, start);
      }
      len = len * 16 + d;
    }
    if (len === 0) {
      this.pos = start + 4;
      return { type: 'flush' };
    }
    if (len === 1) {
      this.pos = start + 4;
      return { type: 'delim' };
    }
    if (len === 2) {
      this.pos = start + 4;
      return { type: 'response-end' };
    }
    if (len < 4) throw new PktLineError(`invalid pkt-line length ${len}`, start);
    if (len > MAX_PKT_LENGTH) throw new PktLineError(`pkt-line length ${len} exceeds ${MAX_PKT_LENGTH}`, start);
    if (start + len > this.buf.length) {
      throw new PktLineError(`pkt-line of ${len} bytes cut short after ${this.buf.length - start}`, start);
    }
    this.pos = start + len;
    return { type: 'data', data: this.buf.subarray(start + 4, start + len) };
  }
}

/** Decode a buffer that must consist only of whole pkt-lines. */
export function decodePktLines(buf: Uint8Array): Pkt[] {
  const reader = new PktLineReader(buf);
  const out: Pkt[] = [];
  while (!reader.atEnd()) out.push(reader.next());
  return out;
}
