import { adler32 } from '../git/zlib-stored.js';
import { sum32 } from '../../schemas/sum32.js';

/**
 * The frame the node's cache files share (the parse cache, the status digests): a magic line, one JSON header line
 * that names the build and the payloads' lengths and checksums, then the payloads. Pure.
 */

/** A file: `magic`, the header as one JSON line, the payloads. */
export function frame(magic: string, header: object, payloads: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(`${magic}${JSON.stringify(header)}\n`, 'utf8'), ...payloads]);
}

/** The header line after `magic` and where the payloads start; null when the file is not framed so (a foreign file). */
export function readHeaderLine(bytes: Buffer, magic: string): { header: Record<string, unknown>; at: number } | null {
  if (bytes.length < magic.length || bytes.toString('utf8', 0, magic.length) !== magic) return null;
  const nl = bytes.indexOf(0x0a, magic.length);
  if (nl < 0 || nl - magic.length > 4096) return null;
  const header = JSON.parse(bytes.toString('utf8', magic.length, nl)) as unknown;
  if (!header || typeof header !== 'object' || Array.isArray(header)) return null;
  return { header: header as Record<string, unknown>, at: nl + 1 };
}

/**
 * A payload's checksum, as hex. It finds a file damaged or cut short, which is all it is for: the files are the node's
 * own and never trusted for more than speed, and anyone who could write one could write its checksum too. Under
 * LARGE bytes it is `sum32` (schemas/sum32.ts), summed in JavaScript; from LARGE on adler32, in WebAssembly
 * (bus/git/zlib-stored.ts, the module a command has loaded for its objects' streams; in JavaScript where it cannot
 * run). It was a sha256, which loaded node:crypto (~12 M instructions) into every `status` that read a cache file
 * (issue 14, session 36), then crc32, whose node:zlib (~1.3-1.7 ms to load) a `status` on a bus of more than ~100
 * tasks loaded for its parse cache until session 58.
 */
export function checksum(b: Uint8Array): string {
  return (b.length >= LARGE ? adler32(b) : sum32(b)).toString(16).padStart(8, '0');
}

/**
 * From this many bytes, adler32; below it, sum32, whose four bytes a step in a process that just started cost less
 * than reaching the module. A bus's parse cache stays under it to ~100 live tasks (~600 bytes a task).
 */
const LARGE = 64 * 1024;
