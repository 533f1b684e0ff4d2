import { PackIndexError } from './errors.js';

const MAGIC = [0xff, 0x74, 0x4f, 0x63]; // "\377tOc"
const HEADER = 8;
const FANOUT = 256 * 4;

/**
 * The object ids listed in a version 2 pack index, in index (sorted) order. Layout (gitformat-pack): magic,
 * version 2, 256 x uint32 cumulative fan-out, N x 20-byte sha1, N x crc32, N x uint32 offset, optional 64-bit
 * offsets, pack sha1, index sha1. `where` names the file in errors.
 */
export function readPackIndexOids(idx: Uint8Array, where = '<pack index>'): string[] {
  if (idx.length < HEADER + FANOUT + 40) throw new PackIndexError(where, `too short (${idx.length} bytes)`);
  for (let i = 0; i < 4; i++) {
    if (idx[i] !== MAGIC[i]) throw new PackIndexError(where, 'bad magic (version 1 indexes are not supported)');
  }
  const view = new DataView(idx.buffer, idx.byteOffset, idx.byteLength);
  const version = view.getUint32(4);
  if (version !== 2) throw new PackIndexError(where, `version ${version}`);
  let prev = 0;
  for (let i = 0; i < 256; i++) {
    const n = view.getUint32(HEADER + i * 4);
    if (n < prev) throw new PackIndexError(where, `fan-out table decreases at entry ${i}`);
    prev = n;
  }
  const count = prev;
  const minSize = HEADER + FANOUT + count * (20 + 4 + 4) + 40;
  if (idx.length < minSize) throw new PackIndexError(where, `${count} objects need at least ${minSize} bytes, file has ${idx.length}`);
  const oids: string[] = new Array<string>(count);
  const start = HEADER + FANOUT;
  const hex = Buffer.from(idx.buffer, idx.byteOffset + start, count * 20).toString('hex');
  for (let i = 0; i < count; i++) oids[i] = hex.slice(i * 40, i * 40 + 40);
  return oids;
}
