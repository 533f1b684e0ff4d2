import { describe, expect, it } from 'vitest';
import { PktLineError } from '../../bus/git/errors.js';
import {
  DELIM_PKT,
  FLUSH_PKT,
  MAX_PKT_PAYLOAD,
  PktLineReader,
  RESPONSE_END_PKT,
  concatBytes,
  decodePktLines,
  encodePktLine,
  pktText,
} from '../../bus/git/pkt-line.js';
import { demuxSideBand } from '../../bus/git/side-band.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

describe('encodePktLine', () => {
  it('prefixes the total length in 4 lower-case hex digits', () => {
    expect(str(encodePktLine('hello\n'))).toBe('000ahello\n');
    expect(str(encodePktLine('# service=git-upload-pack\n'))).toBe('001e# service=git-upload-pack\n');
    expect(str(encodePktLine(Uint8Array.of(0, 1, 2)))).toBe('0007\x00\x01\x02');
    expect(str(encodePktLine('x'.repeat(0xfff - 4)))).toMatch(/^0fff/);
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(str(encodePktLine('é')).slice(0, 4)).toBe('0006');
  });

  it('refuses empty and oversized payloads', () => {
    expect(() => encodePktLine('')).toThrow(RangeError);
    expect(() => encodePktLine(new Uint8Array(MAX_PKT_PAYLOAD))).not.toThrow();
    expect(() => encodePktLine(new Uint8Array(MAX_PKT_PAYLOAD + 1))).toThrow(RangeError);
  });

  it('has the special packets', () => {
    expect(str(FLUSH_PKT)).toBe('0000');
    expect(str(DELIM_PKT)).toBe('0001');
    expect(str(RESPONSE_END_PKT)).toBe('0002');
  });
});

describe('decoding', () => {
  it('round-trips data, flush, delim and response-end', () => {
    const buf = concatBytes([encodePktLine('want abc\n'), FLUSH_PKT, encodePktLine('a'), DELIM_PKT, encodePktLine(Uint8Array.of(1, 0xff)), RESPONSE_END_PKT]);
    const pkts = decodePktLines(buf);
    expect(pkts.map((p) => p.type)).toEqual(['data', 'flush', 'data', 'delim', 'data', 'response-end']);
    const first = pkts[0];
    expect(first?.type === 'data' && pktText(first.data)).toBe('want abc');
    const last = pkts[4];
    expect(last?.type === 'data' && [...last.data]).toEqual([1, 0xff]);
    expect(decodePktLines(new Uint8Array(0))).toEqual([]);
  });

  it('accepts upper-case hex lengths like git does', () => {
    const pkts = decodePktLines(enc(`000A${'x'.repeat(6)}`));
    expect(pkts).toHaveLength(1);
  });

  it('pktText strips exactly one trailing LF', () => {
    expect(pktText(enc('NAK\n'))).toBe('NAK');
    expect(pktText(enc('NAK'))).toBe('NAK');
    expect(pktText(enc('x\n\n'))).toBe('x\n');
  });

  it('lets the caller stop at raw data after the pkt-lines (a pack after NAK)', () => {
    const buf = concatBytes([encodePktLine('NAK\n'), enc('PACK\0\0\0\x02')]);
    const r = new PktLineReader(buf);
    const pkt = r.next();
    expect(pkt.type === 'data' && pktText(pkt.data)).toBe('NAK');
    expect(r.offset).toBe(8);
    expect(r.startsWith('PACK')).toBe(true);
    expect(str(r.rest())).toBe('PACK\0\0\0\x02');
    expect(r.atEnd()).toBe(false);
  });

  it.each([
    ['non-hex length', 'zzzzhello', /invalid pkt-line length "zzzz"/],
    ['length 3', '0003', /invalid pkt-line length 3/],
    ['length beyond the maximum', 'fff1' + 'x'.repeat(10), /exceeds 65520/],
    ['truncated length', '00', /truncated pkt-line length/],
    ['packet cut short', '000ahel', /cut short/],
    ['garbage after a good packet', '0008NAK\nJUNK', /invalid pkt-line length "JUNK"/],
    ['a negative-looking length', '-001abc', /invalid pkt-line length/],
  ])('rejects %s with PktLineError', (_name, input, message) => {
    let caught: unknown;
    try {
      decodePktLines(enc(input));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PktLineError);
    expect((caught as PktLineError).code).toBe('PKT_LINE_MALFORMED');
    expect((caught as PktLineError).message).toMatch(message);
    expect(typeof (caught as PktLineError).data['offset']).toBe('number');
  });

  it('reports the offset of the bad packet', () => {
    try {
      decodePktLines(enc('0008NAK\n00'));
      expect.unreachable();
    } catch (err) {
      expect((err as PktLineError).data['offset']).toBe(8);
    }
  });

  it('complains about reading past the end', () => {
    const r = new PktLineReader(FLUSH_PKT);
    expect(r.next().type).toBe('flush');
    expect(() => r.next()).toThrow(/unexpected end of data/);
  });
});

describe('demuxSideBand', () => {
  const band = (n: number, payload: string): Uint8Array => encodePktLine(concatBytes([Uint8Array.of(n), enc(payload)]));

  it('splits data, messages and errors up to the flush', () => {
    const inner = concatBytes([encodePktLine('unpack ok\n'), encodePktLine('ok refs/heads/main\n'), FLUSH_PKT]);
    const buf = concatBytes([
      band(2, 'remote: hello\n'),
      encodePktLine(concatBytes([Uint8Array.of(1), inner.subarray(0, 5)])),
      encodePktLine(concatBytes([Uint8Array.of(1), inner.subarray(5)])),
      band(3, 'fatal thing'),
      FLUSH_PKT,
      enc('ignored after flush'),
    ]);
    const out = demuxSideBand(buf);
    expect(str(out.data)).toBe(str(inner));
    expect(out.messages).toBe('remote: hello\n');
    expect(out.error).toBe('fatal thing');
  });

  it('rejects an unknown band', () => {
    expect(() => demuxSideBand(band(7, 'x'))).toThrow(PktLineError);
  });
});
