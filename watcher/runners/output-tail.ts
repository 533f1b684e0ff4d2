import { open } from '../../bus/node-fs-async.js';

/** How much of a run's log a response's output is taken from (whole lines of it): the rest stays in the log. */
export const OUTPUT_TAIL_BYTES = 8 * 1024;

/**
 * The last `maxBytes` of a log, cut to whole lines where it holds more than one: enough of the output for a
 * response, never all of it. The bytes are raw output: they become readable text (schemas/output-text.ts) where
 * they reach the bus.
 */
export async function readTail(path: string, maxBytes = OUTPUT_TAIL_BYTES): Promise<string> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    let from = 0;
    // A cut inside a multi-byte character (one long line) starts at the next whole character instead.
    if (start > 0) while (from < buf.length && ((buf[from] ?? 0) & 0xc0) === 0x80) from++;
    const text = buf.subarray(from).toString('utf8');
    if (start === 0) return text;
    // The first line is cut, so it goes, unless nothing but its newline follows: a last line longer than the
    // window is still the output, cut, rather than nothing.
    const nl = text.indexOf('\n');
    return nl >= 0 && /\S/.test(text.slice(nl + 1)) ? text.slice(nl + 1) : text;
  } finally {
    await fh.close();
  }
}
