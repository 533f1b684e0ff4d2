import { GitbusError } from '../../schemas/errors.js';

export class TarReadError extends GitbusError {
  readonly code = 'TAR_INVALID';
  constructor(what: string, reason: string, at: number) {
    super(`the tar archive from ${what} is invalid at byte ${at}: ${reason}`, 'this is a bug or a broken server: report it with `gitbus doctor` output; gitbus reads the objects one by one meanwhile', { what, reason, at });
  }
}

export interface TarEntry {
  /** The full path (a pax `path` record when there is one), without a trailing slash. */
  path: string;
  kind: 'file' | 'directory' | 'symlink' | 'other';
  /** Permission bits from the header. */
  mode: number;
  /** A file's bytes; a symlink's target. Empty for a directory. */
  content: Buffer;
}

const BLOCK = 512;

/** A NUL- or space-terminated octal field. */
function octal(b: Buffer, start: number, len: number): number {
  const s = b.toString('latin1', start, start + len).replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return Number.NaN;
  return parseInt(s, 8);
}

function text(b: Buffer, start: number, len: number): string {
  const end = b.indexOf(0, start);
  return b.toString('utf8', start, end < 0 || end > start + len ? start + len : end);
}

/** The `path` and `linkpath` records of a pax extended header ("<len> <key>=<value>\n" each). */
function paxRecords(data: Buffer, what: string, at: number): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    const len = space < 0 ? Number.NaN : Number(data.toString('latin1', i, space));
    if (!Number.isInteger(len) || len <= 0 || i + len > data.length) throw new TarReadError(what, 'a malformed pax record', at);
    const record = data.toString('utf8', space + 1, i + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    i += len;
  }
  return out;
}

/**
 * The entries of a ustar archive as `git archive --format=tar` writes it: ustar headers, pax extended headers for
 * long names, a pax global header (the commit id) that is skipped. Checks each header's checksum, so a cut-off or
 * garbled stream is an error, never a short list.
 */
export function readTar(buf: Uint8Array, what: string): TarEntry[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: TarEntry[] = [];
  let pax: Map<string, string> | null = null;
  let off = 0;
  for (;;) {
    if (off + BLOCK > b.length) throw new TarReadError(what, 'it ends without its two zero blocks', off);
    const h = b.subarray(off, off + BLOCK);
    if (h.every((x) => x === 0)) return out;
    const sum = octal(h, 148, 8);
    let actual = 0;
    for (let i = 0; i < BLOCK; i++) actual += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
    if (sum !== actual) throw new TarReadError(what, 'a header checksum does not match', off);
    const size = octal(h, 124, 12);
    if (!Number.isSafeInteger(size) || size < 0) throw new TarReadError(what, 'a bad size field', off);
    const dataStart = off + BLOCK;
    if (dataStart + size > b.length) throw new TarReadError(what, 'an entry is cut off', off);
    const data = b.subarray(dataStart, dataStart + size);
    const type = String.fromCharCode(h[156] as number);
    const next = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'g') {
      // The global header: git's commit id comment, nothing about entries.
    } else if (type === 'x') {
      pax = paxRecords(data, what, off);
    } else {
      const prefix = text(h, 345, 155);
      const name = pax?.get('path') ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
      const kind = type === '0' || type === '\0' ? 'file' : type === '5' ? 'directory' : type === '2' ? 'symlink' : 'other';
      const content = kind === 'symlink' ? Buffer.from(pax?.get('linkpath') ?? text(h, 157, 100), 'utf8') : kind === 'file' ? Buffer.from(data) : Buffer.alloc(0);
      out.push({ path: name.replace(/\/+$/, ''), kind, mode: octal(h, 100, 8), content });
      pax = null;
    }
    off = next;
  }
}
