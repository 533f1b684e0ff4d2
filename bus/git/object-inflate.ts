import { nodeZlib } from '../../schemas/node-zlib.js';
import { inflateStored } from './zlib-stored.js';

/**
 * A loose object's file inflated, never past `limit` bytes, and how many of its bytes the stream took (bytes after it
 * are not read): a stored stream, what gitbus writes for small objects (bus/git/object-deflate.ts), without node:zlib;
 * any other with node:zlib, which throws what it finds wrong, a stream past the limit included. `stored`: which of
 * the two read it.
 */
export function inflateObject(raw: Buffer, limit: number): { data: Buffer; used: number; stored: boolean } {
  const stored = inflateStored(raw);
  if (stored && stored.data.length <= limit) return { ...stored, stored: true };
  // `info` (not in @types/node): the engine's count of input bytes consumed.
  const out = nodeZlib().inflateSync(raw, { maxOutputLength: limit, info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
  return { data: out.buffer, used: out.engine.bytesWritten, stored: false };
}
