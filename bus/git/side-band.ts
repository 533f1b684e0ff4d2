import { PktLineError } from './errors.js';
import { PktLineReader, concatBytes } from './pkt-line.js';

export interface SideBandDemux {
  /** Band 1, concatenated. */
  data: Uint8Array;
  /** Band 2: progress and messages (hook output on push), as text. */
  messages: string;
  /** Band 3: a fatal error the remote reported, if any. */
  error: string | undefined;
}

/**
 * Split a side-band(-64k) response (pkt-lines whose first payload byte is the band number) up to the closing
 * flush. Used for push, where band 2 carries the output of the remote's hooks on every transport, including
 * ones that have no stderr of their own (HTTP).
 */
export function demuxSideBand(buf: Uint8Array): SideBandDemux {
  const reader = new PktLineReader(buf);
  const data: Uint8Array[] = [];
  const messages: Uint8Array[] = [];
  const errors: Uint8Array[] = [];
  while (!reader.atEnd()) {
    const at = reader.offset;
    const pkt = reader.next();
    if (pkt.type === 'flush') break;
    if (pkt.type !== 'data') continue;
    const band = pkt.data[0];
    const payload = pkt.data.subarray(1);
    if (band === 1) data.push(payload);
    else if (band === 2) messages.push(payload);
    else if (band === 3) errors.push(payload);
    else throw new PktLineError(`unknown side-band channel ${String(band)}`, at);
  }
  const text = (chunks: Uint8Array[]): string => Buffer.from(concatBytes(chunks)).toString('utf8');
  return { data: concatBytes(data), messages: text(messages), error: errors.length ? text(errors) : undefined };
}
