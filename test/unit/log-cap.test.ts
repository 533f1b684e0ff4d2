import { describe, it, expect } from 'vitest';
import { keptStatus, LogCapper, statusText, type LogCap, type LogPiece } from '../../watcher/runners/log-cap.js';

/**
 * The pure core of a task log's cap (watcher/runners/log-cap.ts): given the output in chunks, what is written, what
 * is held for the end, the notes, and the counts. Here with a cap of 4096 bytes, 1024 of them room for the notes
 * and the last 512 bytes of the output kept past it: the start takes 2560.
 */
const cap: LogCap = { bytes: 4096, end: 512, text: '4KiB' };
const HEAD = cap.bytes - 1024 - cap.end;

/** What the log holds after `pieces` were all written. */
const joined = (pieces: readonly LogPiece[]) => Buffer.concat(pieces.map((p) => p.bytes)).toString('utf8');

/** Feeds `chunks` to a capper and ends it: every piece it gave, in order, and the capper. */
function run(chunks: (string | Buffer)[], logSize = 0, c: LogCap = cap) {
  const capper = new LogCapper(c, logSize);
  const pieces: LogPiece[] = [];
  for (const chunk of chunks) pieces.push(...capper.take(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
  pieces.push(...capper.end());
  return { capper, pieces, text: joined(pieces) };
}

const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => `line ${from + i}\n`).join('');
const DROPPED_RE = /\ngitbus: (\d+) bytes of output were dropped here, past the cap on this task's log \(4KiB, maxLogSize in node\.yaml\); its last (\d+) bytes follow\n/;
const REACHED = "gitbus: the output reached the cap on this task's log (4KiB, maxLogSize in node.yaml): what follows is dropped, but for its end, which comes after a line saying how many bytes were dropped\n";

describe('the cap on a task log, given its output in chunks', () => {
  it('writes output that fits as it comes, byte for byte, with no note, and counts no loss', () => {
    const capper = new LogCapper(cap, 0);
    const first = capper.take(Buffer.from('a'.repeat(2000)));
    // The start is written at once, as output (whose refused bytes are counted), not held.
    expect(first).toEqual([{ bytes: Buffer.from('a'.repeat(2000)), output: true }]);
    // Past the start, up to the end's room, it is held, not dropped: written at the end, still with no note.
    const second = capper.take(Buffer.from('b'.repeat(HEAD - 2000 + cap.end)));
    expect(joined(second)).toBe('b'.repeat(HEAD - 2000));
    const end = capper.end();
    expect(end).toEqual([{ bytes: Buffer.from('b'.repeat(cap.end)), output: true }]);
    expect(joined([...first, ...second, ...end])).toBe('a'.repeat(2000) + 'b'.repeat(HEAD - 2000 + cap.end));
    expect(capper.loss()).toBeNull();
  });

  it('one byte past what fits: the start, a note on a line of its own, and at the end the exact count and the end from a line start', () => {
    const out = lines(1, 1000);
    const { capper, pieces, text } = run([out]);
    const m = DROPPED_RE.exec(text);
    expect(m).not.toBeNull();
    expect(capper.loss()).toEqual({ dropped: Number(m?.[1]), unwritten: 0 });
    const reached = text.indexOf(REACHED);
    // The start is the output's own, cut inside a line: the note's line break is gitbus's.
    const head = text.slice(0, reached - 1);
    expect(head.length).toBe(HEAD);
    expect(text[reached - 1]).toBe('\n');
    expect(out.startsWith(head)).toBe(true);
    const end = text.slice((m?.index ?? 0) + (m?.[0].length ?? 0));
    expect(end).toMatch(/^line \d+\n/);
    expect(end.length).toBe(Number(m?.[2]));
    expect(out.endsWith(end)).toBe(true);
    expect(head.length + Number(m?.[1]) + end.length).toBe(out.length);
    // The notes are gitbus's own, not the task's output: a refused note is not counted as output unwritten.
    expect(pieces.filter((p) => !p.output).map((p) => p.bytes.toString('utf8'))).toEqual([`\n${REACHED}`, m?.[0].slice(1) ?? '']);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(cap.bytes);
  });

  it('keeps the very end of output that comes in many small chunks, across the ring it holds it in', () => {
    const out = lines(1, 3000);
    const chunks: string[] = [];
    for (let at = 0; at < out.length; at += 37) chunks.push(out.slice(at, at + 37));
    const byChunks = run(chunks);
    // The same log as from one chunk: where the output is cut does not depend on how it came.
    expect(byChunks.text).toBe(run([out]).text);
    expect(byChunks.text.endsWith(lines(3000, 1))).toBe(true);
  });

  it('says the note once, however many chunks go past the cap', () => {
    const { text } = run(Array.from({ length: 200 }, (_, i) => lines(i * 10, 10)));
    expect(text.split(REACHED).length).toBe(2);
    expect(text.match(/bytes of output were dropped here/g)).toHaveLength(1);
  });

  it('cuts the start and the end at whole characters of output that is one endless line', () => {
    // 3-byte characters: the cuts fall inside one.
    const out = Buffer.from('€'.repeat(2000));
    const { capper, text } = run([out.subarray(0, 1001), out.subarray(1001)]);
    expect(text).not.toContain('\ufffd');
    const m = DROPPED_RE.exec(text);
    const end = text.slice((m?.index ?? 0) + (m?.[0].length ?? 0));
    expect(end).toMatch(/^€+$/);
    expect(Buffer.byteLength(end)).toBe(Number(m?.[2]));
    const head = text.slice(0, text.indexOf('\ngitbus: '));
    expect(head).toMatch(/^€+$/);
    expect(Buffer.byteLength(head) + (capper.loss()?.dropped ?? 0) + Buffer.byteLength(end)).toBe(out.length);
  });

  it('counts what the log already holds (a project setup before the task) against the cap', () => {
    const alone = run([lines(1, 300)]);
    expect(alone.capper.loss()).toBeNull();
    const after = run([lines(1, 300)], 2000);
    expect(after.capper.loss()?.dropped).toBeGreaterThan(0);
    expect(2000 + Buffer.byteLength(after.text)).toBeLessThanOrEqual(cap.bytes);
    expect(after.text.endsWith(lines(300, 1))).toBe(true);
  });

  it('a log already at its cap keeps none of the output: it says so, and counts all of it as dropped', () => {
    const { capper, pieces, text } = run([lines(1, 100)], cap.bytes);
    expect(pieces.every((p) => !p.output)).toBe(true);
    expect(text).toBe(`${REACHED}gitbus: ${lines(1, 100).length} bytes of output were dropped here, past the cap on this task's log (4KiB, maxLogSize in node.yaml)\n`);
    expect(capper.loss()).toEqual({ dropped: lines(1, 100).length, unwritten: 0 });
  });

  it('counts the output the log refused, not its own notes, with the first error; and says when nothing more is to be written', () => {
    const capper = new LogCapper(cap, 0);
    const [piece] = capper.take(Buffer.from('x'.repeat(100)));
    expect(capper.refusing).toBe(false);
    capper.refused(piece as LogPiece, 40, 'ENOSPC');
    expect(capper.refusing).toBe(true);
    capper.refused({ bytes: Buffer.from('gitbus: a note\n'), output: false }, 0, 'EIO');
    expect(capper.loss()).toEqual({ dropped: 0, unwritten: 60, error: 'ENOSPC' });
    // An error that is no errno code is named as an I/O error.
    const other = new LogCapper(cap, 0);
    other.refused({ bytes: Buffer.from('abc'), output: true }, 0, 'no such\nthing');
    expect(other.loss()).toEqual({ dropped: 0, unwritten: 3, error: 'EIO' });
  });

  it('takes nothing once ended', () => {
    const capper = new LogCapper(cap, 0);
    capper.end();
    expect(capper.take(Buffer.from('late'))).toEqual([]);
    expect(capper.end()).toEqual([]);
  });

  it("writes its counts as a status that reads back, and reads anything else as no status", () => {
    expect(keptStatus(statusText(null))).toBeNull();
    expect(keptStatus(statusText({ dropped: 5, unwritten: 0 }))).toEqual({ dropped: 5, unwritten: 0 });
    expect(keptStatus(statusText({ dropped: 0, unwritten: 7, error: 'ENOSPC' }))).toEqual({ dropped: 0, unwritten: 7, error: 'ENOSPC' });
    expect(keptStatus('{"dropped":0,"unwritten":0,"error":""}')).toBeNull();
    expect(keptStatus('{"dropped":0,"unwritten":7,"error":"no such\\nthing"}')).toEqual({ dropped: 0, unwritten: 7 });
    for (const bad of ['', 'gitbus: 5 bytes of output were dropped', '{"dropped":-1,"unwritten":0}', '{"dropped":1e300,"unwritten":0}', '[1]', 'null']) expect(keptStatus(bad)).toBeUndefined();
  });
});
